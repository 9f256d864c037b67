// Package dockertest starts a private Docker engine for tests that must
// restart the engine under a running backup, which the shared dev-services
// engine must never be. It has its own data and exec roots, pid file and
// unix socket, and no networking (--bridge=none --iptables=false).
package dockertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Engine is a private dockerd; Stop and Start keep its state.
type Engine struct {
	Host string // unix:///…/docker.sock
	dir  string
	sock string
	cmd  *exec.Cmd
	log  *os.File
}

// Start runs a private dockerd, stopped at the end of the test. It skips
// the test (fails it in CI) when dockerd is not installed.
func Start(t testing.TB) *Engine {
	t.Helper()
	if _, err := exec.LookPath("dockerd"); err != nil || os.Geteuid() != 0 {
		msg := "dockerd is not installed or not root: run scripts/dev-services.sh start as root"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Short: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "zsdk")
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{dir: dir, sock: filepath.Join(dir, "d.sock")}
	e.Host = "unix://" + e.sock
	t.Cleanup(func() {
		e.Stop()
		// dockerd bind-mounts its data root onto itself (and a killed one
		// leaves container mounts): unmount before removing.
		_ = exec.Command("umount", "-R", "-l", filepath.Join(dir, "data")).Run()
		_ = os.RemoveAll(dir)
	})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

// Start (re)starts the engine and waits until it answers _ping.
func (e *Engine) Start(ctx context.Context) error {
	_ = os.Remove(e.sock)
	// A killed engine leaves pid files that make the next start refuse
	// or wait for a containerd that is gone.
	_ = os.Remove(filepath.Join(e.dir, "dockerd.pid"))
	_ = os.Remove(filepath.Join(e.dir, "exec", "containerd", "containerd.pid"))
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command("dockerd", "--host="+e.Host, "--data-root="+filepath.Join(e.dir, "data"),
		"--exec-root="+filepath.Join(e.dir, "exec"), "--pidfile="+filepath.Join(e.dir, "dockerd.pid"),
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	e.cmd, e.log = cmd, log
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}, Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	out, _ := os.ReadFile(log.Name())
	return fmt.Errorf("dockertest: private dockerd did not start:\n%s", out)
}

// Stop shuts the engine down as a restart does (SIGTERM: it stops its
// containers and its containerd) and waits for it to exit.
func (e *Engine) Stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	_ = e.log.Close()
	e.cmd = nil
}

// Kill kills the engine and everything it started (its containerd, the
// containers) with SIGKILL, as a crash or an OOM kill would, and waits.
func (e *Engine) Kill() {
	if e.cmd == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	_ = e.cmd.Wait()
	_ = e.log.Close()
	e.cmd = nil
}
