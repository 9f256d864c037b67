package zktest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// Start starts the server (again) and waits until it answers ruok.
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
		if ruok(p.Addr) {
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

// Connections counts the client connections the server has open (the
// cons four-letter command), or -1 if it does not answer.
func (p *Private) Connections() int {
	out, ok := p.cons()
	if !ok {
		return -1
	}
	// One line per connection, this one included.
	return strings.Count(out, "/127.0.0.1:") - 1
}

// Requests is how many requests the open client connections have sent
// (the sum of cons's recved counts), or -1 if the server does not answer:
// it tells a walk in progress from a client that only connected.
func (p *Private) Requests() int {
	out, ok := p.cons()
	if !ok {
		return -1
	}
	n := 0
	for _, m := range recvedPattern.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

var recvedPattern = regexp.MustCompile(`recved=(\d+)`)

func (p *Private) cons() (string, bool) {
	c, err := net.DialTimeout("tcp", p.Addr, time.Second)
	if err != nil {
		return "", false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("cons")); err != nil {
		return "", false
	}
	b, _ := io.ReadAll(c)
	return string(b), true
}
