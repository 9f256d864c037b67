package zookeeper_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	. "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// A reader without ADMIN sees digest ACLs masked; storing them would make
// restored nodes unusable, so the backup fails, naming the user to
// configure, unless masked entries are to be replaced.
func TestMaskedDigestACL(t *testing.T) {
	srv := zktest.Server{Which: "prod"}
	chroot := srv.Chroot(t)
	c := srv.Connect(t, chroot)
	mixed := []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, zktest.DigestACL()}
	zktest.Build(t, c, []zktest.Spec{{Path: "/keystorage"}, {Path: "/keystorage/k", Data: []byte(`{"a": 1}`), ACL: mixed}})

	anon := srv.Config(t, chroot)
	anon.DigestUser, anon.DigestPassword = "", ""
	err := New(Config{Conn: anon}).Snapshot(t.Context(), &zktest.Sink{Source: zktree.SourceName})
	if !errors.Is(err, ErrMaskedACL) || !strings.Contains(err.Error(), "/keystorage/k") || !strings.Contains(err.Error(), `"`+zktest.DigestUser+`"`) {
		t.Fatalf("got %v, want a masked ACL error naming the node and the user", err)
	}

	repl := zk.ACL{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}
	sink := &zktest.Sink{Source: zktree.SourceName}
	if err := New(Config{Conn: anon, ReplaceMaskedACLs: []zk.ACL{repl}}).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	recs, _ := records(t, sink)
	if got := recs[len(recs)-1].ACL; len(got) != 2 || got[0] != mixed[0] || got[1] != repl || treeMeta(t, sink).MaskedACLsReplaced != 1 {
		t.Fatalf("replaced ACL: %v", got)
	}

	// With the digest user's auth the real hash is stored.
	sink = &zktest.Sink{Source: zktree.SourceName}
	if err := New(Config{Conn: srv.Config(t, chroot)}).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	if recs, _ = records(t, sink); recs[len(recs)-1].ACL[1] != zktest.DigestACL() {
		t.Fatalf("ACL with auth: %v", recs[len(recs)-1].ACL)
	}
}

// A subtree the backup may not read fails the backup with the path.
func TestNoAuthSubtree(t *testing.T) {
	srv := zktest.Server{Which: "prod"}
	chroot := srv.Chroot(t)
	c := srv.Connect(t, chroot)
	zktest.Build(t, c, []zktest.Spec{{Path: "/nodepool"}, {Path: "/nodepool/secret", ACL: []zk.ACL{zktest.DigestACL()}},
		{Path: "/nodepool/secret/below", ACL: []zk.ACL{zktest.DigestACL()}}})
	anon := srv.Config(t, chroot)
	anon.DigestUser = ""
	err := New(Config{Conn: anon}).Snapshot(t.Context(), &zktest.Sink{Source: zktree.SourceName})
	if !errors.Is(err, zk.ErrNoAuth) || !strings.Contains(err.Error(), "/nodepool/secret") || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("got %v, want a permission error naming /nodepool/secret", err)
	}
}

// Connection problems fail fast with the server and the cause.
func TestConnectionErrors(t *testing.T) {
	tlsSrv := zktest.Server{Which: "prod", TLS: true}
	cases := map[string]struct {
		edit func(*zkconn.Config)
		want []string
	}{
		"unreachable":       {func(c *zkconn.Config) { c.Servers = []string{"127.0.0.1:1"} }, []string{"127.0.0.1:1", "refused"}},
		"wrong CA":          {func(c *zkconn.Config) { c.TLS.RootCAs = loadPool(t, zktest.WrongCA(t)) }, []string{"certificate", "tls.ca_file"}},
		"no client cert":    {func(c *zkconn.Config) { c.TLS.Certificates = nil }, []string{"client certificate", "tls.cert_file"}},
		"plain to TLS port": {func(c *zkconn.Config) { c.TLS = nil }, []string{"closed the connection", "configure tls"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := tlsSrv.Config(t, "")
			cfg.ConnectTimeout = 3e9
			tc.edit(&cfg)
			err := New(Config{Conn: cfg}).Snapshot(t.Context(), &zktest.Sink{Source: zktree.SourceName})
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("got %v, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), zktest.DigestPassword) {
				t.Fatalf("password in error: %v", err)
			}
		})
	}
}
