package zktest

import (
	"net"
	"os"
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
