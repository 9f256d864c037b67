package zookeeper

import (
	"testing"

	"github.com/zuulstate/zuulstate/config"
)

func TestClientConfig(t *testing.T) {
	cc, err := clientConfig(config.ZooKeeperConn{Servers: []string{"a:1"}, Auth: &config.ZooKeeperAuth{User: "u", Password: config.NewSecret("p")}})
	if err != nil || cc.DigestUser != "u" || cc.DigestPassword != "p" {
		t.Fatalf("client config: %+v %v", cc, err)
	}
}
