package zktest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Private is a private plain-TCP ZooKeeper that a test may stop and start
// again on the same port and data directory, as a server restart looks to
// clients: the tests of faults while a backup runs use it, never the
// shared dev-services servers.
type Private struct {
	Addr string
	cfg  string
	dir  string
	cp   string
	java string
	cmd  *exec.Cmd
	log  *os.File
}

// StartPrivate starts a Private server, stopped at the end of the test. It
// skips the test (fails it in CI) when ZooKeeper is not installed.
func StartPrivate(t testing.TB) *Private {
	t.Helper()
	java, err := exec.LookPath("java")
	if _, jerr := os.Stat("/usr/share/java/zookeeper.jar"); err != nil || jerr != nil {
		msg := "ZooKeeper (java, /usr/share/java/zookeeper.jar) is not installed: run scripts/dev-services.sh start"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var cp []string
	for _, j := range zkJars {
		if p := "/usr/share/java/" + j + ".jar"; fileExists(p) {
			cp = append(cp, p)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Private{Addr: l.Addr().String(), dir: t.TempDir(), cp: strings.Join(cp, ":"), java: java}
	_ = l.Close()
	_, port, _ := net.SplitHostPort(p.Addr)
	p.cfg = filepath.Join(p.dir, "zoo.cfg")
	body := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\nmaxSessionTimeout=60000\n", p.dir, port)
	if err := os.WriteFile(p.cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Start starts the server (again) and waits until it serves sessions.
func (p *Private) Start() error {
	log, err := os.OpenFile(filepath.Join(p.dir, "zookeeper.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.java, "-Xmx128m", "-Dzookeeper.admin.enableServer=false", "-cp", p.cp,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", p.cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	p.cmd, p.log = cmd, log
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if serving(p.Addr) {
			return nil
		}
	}
	out, _ := os.ReadFile(log.Name())
	return fmt.Errorf("zktest: private ZooKeeper on %s did not start:\n%s", p.Addr, out)
}

// Stop kills the server, as a crash would, and waits for it to exit.
func (p *Private) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	_ = p.log.Close()
	p.cmd = nil
}

// Received is the number of requests the server received since it started
// (srvr's count, which includes each four-letter command such as this
// one), or -1 if it does not answer. A test aims a fault at a point of a
// client's work by this count: unlike a clock, it does not depend on the
// machine's speed.
func (p *Private) Received() int64 {
	out, err := p.fourLetter("srvr")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Received: "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

func (p *Private) fourLetter(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", p.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}
