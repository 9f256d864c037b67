package zookeeper_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	bzk "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	. "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// TestMaskedACLsRestored follows the documented replace_masked_acls path:
// the backup user may read a node but has no ADMIN there, so the server
// masks its digest entry and the configured entry is stored instead. The
// restore writes it, cannot read its hash back (the same mask), reports
// that instead of a difference, and succeeds; the restored ACL lets the
// digest user read the node and nobody else.
func TestMaskedACLsRestored(t *testing.T) {
	prod, dev := zktest.Server{Which: "prod"}, zktest.Server{Which: "dev"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	readOnly := zk.ACL{Perms: zk.PermRead, Scheme: "digest", ID: zkconn.DigestID(zktest.DigestUser, zktest.DigestPassword)}
	zktest.Build(t, pc, []zktest.Spec{
		{Path: "/keystorage"},
		{Path: "/keystorage/k", Data: []byte(`{"key": 1}`), ACL: []zk.ACL{readOnly}},
		{Path: "/keystorage/mixed", Data: []byte(`{"key": 2}`), ACL: []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, readOnly}},
		{Path: "/keystorage/open", Data: []byte(`{"key": 3}`)},
	})
	sink := backupOf(t, bzk.Config{Conn: src, ReplaceMaskedACLs: []zk.ACL{readOnly}})

	dst := dev.Config(t, dev.Chroot(t))
	var rr restoreRun
	if err := rr.do(t, Config{Conn: dst}, sink); err != nil {
		t.Fatalf("restore: %v\n%s", err, rr.out.String())
	}
	out := rr.out.String()
	if !strings.Contains(out, "4 of 4 nodes found, digest matches the snapshot") ||
		!strings.Contains(out, "2 digest ACL entries not readable back") || !strings.Contains(out, "/keystorage/k") {
		t.Fatalf("summary does not report the masked entries:\n%s", out)
	}

	// The entry written is the real one: the digest user reads the node,
	// an anonymous session may not.
	user, _ := zkconnect(t, dst)
	if data, _, err := user.Get(t.Context(), "/keystorage/k"); err != nil || string(data) != `{"key": 1}` {
		t.Fatalf("the digest user reads %q: %v", data, err)
	}
	anonCfg := dst
	anonCfg.DigestUser, anonCfg.DigestPassword = "", ""
	anon, _ := zkconnect(t, anonCfg)
	if _, _, err := anon.Get(t.Context(), "/keystorage/k"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("an anonymous session reads the node: %v", err)
	}
}

func TestACLMatch(t *testing.T) {
	id := zkconn.DigestID("u", "p")
	entry := func(scheme, id string, perms int32) zk.ACL { return zk.ACL{Perms: perms, Scheme: scheme, ID: id} }
	world := entry("world", "anyone", zk.PermRead)
	cases := []struct {
		name      string
		got, want []zk.ACL
		ok        bool
		masked    int
	}{
		{"equal", []zk.ACL{world}, []zk.ACL{world}, true, 0},
		{"masked, same user and permissions", []zk.ACL{world, entry("digest", "u:x", zk.PermRead)}, []zk.ACL{world, entry("digest", id, zk.PermRead)}, true, 1},
		{"masked, other permissions", []zk.ACL{entry("digest", "u:x", zk.PermAll)}, []zk.ACL{entry("digest", id, zk.PermRead)}, false, 0},
		{"masked, other user", []zk.ACL{entry("digest", "v:x", zk.PermRead)}, []zk.ACL{entry("digest", id, zk.PermRead)}, false, 0},
		{"masked, other scheme wanted", []zk.ACL{entry("digest", "u:x", zk.PermRead)}, []zk.ACL{entry("ip", "127.0.0.1", zk.PermRead)}, false, 0},
		{"an entry more", []zk.ACL{world, world}, []zk.ACL{world}, false, 0},
		{"other hash", []zk.ACL{entry("digest", zkconn.DigestID("u", "q"), zk.PermRead)}, []zk.ACL{entry("digest", id, zk.PermRead)}, false, 0},
	}
	for _, c := range cases {
		if ok, masked := ACLMatch(c.got, c.want); ok != c.ok || masked != c.masked {
			t.Errorf("%s: ok %v masked %d, want %v %d", c.name, ok, masked, c.ok, c.masked)
		}
	}
}
