package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// volumesFixture is a local repository and a config whose volumes source
// selects vol; the engine comes from DOCKER_HOST, as with the docker CLI.
func volumesFixture(t *testing.T, vol, extra string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.repo = filepath.Join(f.dir, "repo")
	if err := os.Mkdir(f.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	f.writeConfig(t, fmt.Sprintf(`repository:
  local:
    path: %s
sources:
  volumes:
    stop_timeout: 5s
    volumes:
      - name: %s
%srestore:
  volumes:
    helper_binary: %s
`, f.repo, vol, extra, voltest.Zuulstate(t)))
	f.env = append(f.env, "DOCKER_HOST="+voltest.Host(t))
	return f
}

func TestVolumesBackupRestore(t *testing.T) {
	eng := voltest.Engine(t)
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{Labels: map[string]string{"purpose": "logs"}})
	writeTree(t, mp)
	f := volumesFixture(t, vol, "")
	f.run(t, "backup").expectOK(t)
	for _, mode := range []string{"direct", "api"} {
		dst := voltest.Name("zstest-cli-" + mode)
		t.Cleanup(func() { voltest.RemoveVolume(t, eng, dst) })
		if mode == "api" {
			f.writeConfig(t, strings.Replace(readFile(t, f.config), "restore:\n  volumes:\n", "restore:\n  volumes:\n    mode: api\n", 1))
			f.env = append(f.env, "DOCKER_HOST="+voltest.Host(t))
		}
		plan := f.run(t, "restore", "latest", "--volume-map", vol+"="+dst, "--dry-run")
		plan.expectOK(t)
		if !strings.Contains(plan.stdout, "create volume "+dst) || !strings.Contains(plan.stdout, "from "+vol) || !strings.Contains(plan.stdout, "the "+mode+" way") {
			t.Fatalf("plan does not say it creates %s from %s the %s way:\n%s", dst, vol, mode, plan.stdout)
		}
		args := []string{"restore", "latest", "--volume-map", vol + "=" + dst}
		r := f.run(t, args...)
		r.expectOK(t)
		if !strings.Contains(r.stdout, "matches the snapshot") || !strings.Contains(r.stdout, mode+" way") {
			t.Fatalf("restore (%s) printed no verification:\n%s", mode, r.stdout)
		}
		v, err := eng.API.VolumeInspect(t.Context(), dst)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, mp, v.Mountpoint)
		if v.Labels["purpose"] != "logs" {
			t.Errorf("labels = %v", v.Labels)
		}
		f.run(t, args...).expectFail(t, exitTargetFull, "not empty", "--force")
		r = f.run(t, append(args, "--force")...)
		r.expectOK(t)
		if !strings.Contains(r.stdout, "--force: replacing the content of volume "+dst) {
			t.Errorf("--force did not say it replaces the content:\n%s", r.stdout)
		}
	}
}

func writeTree(t *testing.T, dir string) {
	t.Helper()
	for name, content := range map[string]string{"builds/1/log.txt": "ok\n", "builds/2/log.txt": "fail\n", "index.html": "<html>"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVolumesSIGTERMRestartsContainer: SIGTERM while a cold copy runs
// (the container is down) ends the backup with exit 130 and the container
// running again.
func TestVolumesSIGTERMRestartsContainer(t *testing.T) {
	eng := voltest.Engine(t)
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{})
	big := make([]byte, 1<<30)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(mp, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	id := voltest.RunWriter(t, eng, voltest.WriterImage(t, eng), mount.Mount{Type: mount.TypeVolume, Source: vol}, nil)
	f := volumesFixture(t, vol, "")
	f.writeConfig(t, strings.Replace(readFile(t, f.config), "      - name: "+vol, "      - name: "+vol+"\n        stop: true", 1))
	f.env = append(f.env, "DOCKER_HOST="+voltest.Host(t))

	cmd := commandWithEnv(t, f.env, "backup")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	owner := engine.OwnerOf(cmd.Process.Pid)
	deadline := time.Now().Add(30 * time.Second)
	for voltest.Running(t, eng, id) {
		if time.Now().After(deadline) {
			t.Fatal("the backup never stopped the container")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, cmd.Stderr)
	}
	if !voltest.Running(t, eng, id) {
		t.Fatalf("container left stopped after SIGTERM\n%s", cmd.Stderr)
	}
	if !strings.Contains(fmt.Sprint(cmd.Stderr), "container started again") {
		t.Errorf("no restart logged:\n%s", cmd.Stderr)
	}
	voltest.NoHelpers(t, eng, owner)
}

// TestVolumesPermissionDenied: a user who may not use the engine's socket
// gets one line saying what to do.
func TestVolumesPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the binary as nobody")
	}
	host := voltest.Host(t)
	// Not t.TempDir: its parent is private to root.
	dir, err := os.MkdirTemp("", "zuulstate-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "repo"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "zuulstate")
	if err := os.WriteFile(bin, []byte(readFile(t, binary)), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	body := fmt.Sprintf("repository:\n  local:\n    path: %s/repo\nsources:\n  volumes:\n    docker:\n      host: %s\n    volumes:\n      - name: xx\n", dir, host)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := commandWithEnv(t, nil, "--config", cfg, "backup")
	cmd.Path = bin
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	runErr := cmd.Run()
	out := fmt.Sprint(cmd.Stderr, runErr)
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out, "permission denied") || !strings.Contains(out, "docker group") {
		t.Fatalf("exit %d, stderr:\n%s", cmd.ProcessState.ExitCode(), out)
	}
}
