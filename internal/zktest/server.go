package zktest

import (
	"io"
	"net"
	"os"
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
	return StartPrivate(t).Addr
}

// serving reports whether the server at addr serves sessions. ruok is not
// enough: it answers imok as soon as the server runs, before it has loaded
// its database and accepts sessions, and on a loaded machine that gap
// outlasted a client's 20 s session timeout (TestTTLNeedsExtendedTypes
// failed so). srvr says "not currently serving requests" until then.
func serving(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	return strings.HasPrefix(string(b), "Zookeeper version:")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
