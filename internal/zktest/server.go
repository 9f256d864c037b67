package zktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zkJars are the jars a ZooKeeper 3.8 server needs from Debian's
// /usr/share/java (scripts/dev-services.sh uses the same list).
var zkJars = []string{"zookeeper", "zookeeper-jute", "netty-buffer", "netty-codec", "netty-common", "netty-handler",
	"netty-resolver", "netty-transport", "netty-transport-native-epoll", "netty-transport-native-unix-common",
	"slf4j-api", "slf4j-log4j12", "log4j-1.2", "commons-cli", "commons-io", "commons-lang3", "jackson-annotations",
	"jackson-core", "jackson-databind", "metrics-core", "snappy-java"}

// StartServer starts a private ZooKeeper on a loopback port with default
// settings (so without TTL nodes, unlike the dev services), for tests that
// need a server configured otherwise, and stops it at the end of the test.
// It skips the test (fails it in CI) when ZooKeeper is not installed.
func StartServer(t testing.TB) string {
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
	addr := l.Addr().String()
	_ = l.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zoo.cfg")
	body := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n", dir, port)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(java, "-Xmx128m", "-Dzookeeper.admin.enableServer=false", "-cp", strings.Join(cp, ":"),
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = log.Close()
	})
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ruok(addr) {
			return addr
		}
	}
	out, _ := os.ReadFile(log.Name())
	t.Fatalf("zktest: private ZooKeeper on %s did not start:\n%s", addr, out)
	return ""
}

func ruok(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return false
	}
	b := make([]byte, 4)
	n, _ := c.Read(b)
	return string(b[:n]) == "imok"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
