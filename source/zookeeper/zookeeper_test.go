package zookeeper

import (
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

func TestClientConfig(t *testing.T) {
	cc, err := clientConfig(config.ZooKeeperConn{Servers: []string{"a:1"}, Auth: &config.ZooKeeperAuth{User: "u", Password: config.NewSecret("p")}})
	if err != nil || cc.DigestUser != "u" || cc.DigestPassword != "p" {
		t.Fatalf("client config: %+v %v", cc, err)
	}
}

// TestDrillIncludesEverything: a drill restores every subtree of the
// snapshot, Zuul's runtime state too, which a restore leaves out unless
// included.
func TestDrillIncludesEverything(t *testing.T) {
	zuul := zktree.TreeMeta{Roots: []zktree.RootMeta{{Path: "/keystorage"}, {Path: "/nodepool"}, {Path: "/zuul"}, {Path: "/keystorage-oidc", Missing: true}}}
	if got := strings.Join(includeAll(zuul), ","); got != "/keystorage,/nodepool,/zuul" {
		t.Errorf("profile zuul: %s", got)
	}
	all := zktree.TreeMeta{Roots: []zktree.RootMeta{{Path: "/"}}}
	if got := strings.Join(includeAll(all), ","); got != "/,/zuul" {
		t.Errorf("profile all: %s", got)
	}
	all.Exclude = []string{"/zuul"}
	if got := strings.Join(includeAll(all), ","); got != "/" {
		t.Errorf("profile all without /zuul: %s", got)
	}
}
