package zktest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// The torture tree's digest ACLs name this user; a session needs this auth
// to read them (and ADMIN, which they grant, to see the real hash).
const (
	DigestUser     = "zuulstate-test"
	DigestPassword = "torture-pw-3f9a"
)

// DigestACL grants everything to DigestUser.
func DigestACL() zk.ACL {
	return zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: zkconn.DigestID(DigestUser, DigestPassword)}
}

// Torture describes the torture tree under Root (relative to the chroot).
type Torture struct {
	Root       string
	Containers []string
	TTLs       map[string]time.Duration
	Ephemeral  []string
	BigSize    int
}

// BuildTorture creates the torture tree under /t: binary data with NUL
// bytes, null and empty data, data just under the request limit, one
// parent with many children, unicode names, depth 50, world read-only,
// digest, ip and mixed ACLs (also on parents, set after their children
// exist: /t/ip-parent grants the restore session nothing it can tell), a
// container and a TTL node, sequential children with some deleted, a
// parent whose sequential children were all deleted, and ephemeral nodes
// owned by c's session. c must have DigestUser's auth.
func BuildTorture(t testing.TB, c *zkconn.Client, children int) Torture {
	t.Helper()
	ctx := t.Context()
	tt := Torture{Root: "/t", TTLs: map[string]time.Duration{"/t/ttl": time.Hour}, Containers: []string{"/t/cont"},
		BigSize: 1<<20 - 2048}
	binary := make([]byte, 0, 1024)
	for i := range 1024 {
		binary = append(binary, byte(i*7))
	}
	big := bytes.Repeat([]byte("zuulstate\x00big"), tt.BigSize/13+1)[:tt.BigSize]
	deep := "/t/deep"
	specs := []Spec{
		{Path: "/t", Data: []byte("torture root")},
		{Path: "/t/binary", Data: append([]byte{0, 0, 0}, binary...)},
		{Path: "/t/nil"},
		{Path: "/t/empty", Data: []byte{}},
		{Path: "/t/big", Data: big},
		{Path: "/t/ünïcødé-名前-Ωμέγα", Data: []byte("bmp")},
		{Path: "/t/ünïcødé-名前-Ωμέγα/子", Data: []byte("child")},
		{Path: "/t/ro", Data: []byte("read only"), ACL: zk.WorldACL(zk.PermRead)},
		{Path: "/t/ro-parent", Data: []byte("world read-only parent")},
		{Path: "/t/ro-parent/child", Data: []byte("under a world read-only parent")},
		{Path: "/t/ip-parent", Data: []byte("ip parent")},
		{Path: "/t/ip-parent/child", Data: []byte("under an ip parent")},
		{Path: "/t/digest", Data: []byte("digest only"), ACL: []zk.ACL{DigestACL()}},
		{Path: "/t/digest-parent", Data: []byte("digest parent")},
		{Path: "/t/digest-parent/child", Data: []byte("under a digest parent"), ACL: []zk.ACL{DigestACL()}},
		{Path: "/t/ip", Data: []byte("loopback only"), ACL: []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}}},
		{Path: "/t/mixed", Data: []byte("world read, digest all"), ACL: []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, DigestACL()}},
		{Path: "/t/cont", Data: []byte("container"), Flags: zk.FlagContainer},
		{Path: "/t/cont/item", Data: []byte("keeps the container")},
		{Path: "/t/ttl", Data: []byte("ttl"), Flags: zk.FlagTTL, TTL: time.Hour},
		{Path: "/t/seq"},
		{Path: "/t/seq-empty"},
		{Path: "/t/eph"},
		{Path: deep},
		{Path: "/t/many"},
	}
	for i := 1; i <= 50; i++ {
		deep += fmt.Sprintf("/d%02d", i)
		specs = append(specs, Spec{Path: deep, Data: []byte(deep[len(deep)-3:])})
	}
	for i := range children {
		specs = append(specs, Spec{Path: fmt.Sprintf("/t/many/c%06d", i), Data: fmt.Appendf(nil, "v%d", i)})
	}
	Build(t, c, specs)
	for range 10 {
		if _, err := c.Create(ctx, "/t/seq/job-", []byte("job"), zk.FlagSequence, Open); err != nil {
			t.Fatal(err)
		}
	}
	e, err := c.Create(ctx, "/t/seq/lock-", nil, zk.FlagEphemeralSequential, Open)
	if err != nil {
		t.Fatal(err)
	}
	tt.Ephemeral = append(tt.Ephemeral, e)
	for _, n := range []string{"0000000000", "0000000003", "0000000005", "0000000009"} {
		if err := c.Delete(ctx, "/t/seq/job-"+n); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		p, err := c.Create(ctx, "/t/seq-empty/x-", nil, zk.FlagSequence, Open)
		if err == nil {
			err = c.Delete(ctx, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/t/eph/session", "/t/ephemeral-leaf"} {
		if _, err := c.Create(ctx, p, []byte("mine"), zk.FlagEphemeral, Open); err != nil {
			t.Fatal(err)
		}
		tt.Ephemeral = append(tt.Ephemeral, p)
	}
	ipAll := zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}
	for p, acl := range map[string][]zk.ACL{
		"/t/ro-parent":     {{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, DigestACL()},
		"/t/ip-parent":     {{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, ipAll},
		"/t/digest-parent": {DigestACL()},
	} {
		if err := c.SetACL(ctx, p, acl); err != nil {
			t.Fatal(err)
		}
	}
	return tt
}

// IsEphemeral reports whether p (relative) is one of the torture tree's
// ephemeral nodes.
func (tt Torture) IsEphemeral(p string) bool {
	for _, e := range tt.Ephemeral {
		if p == e || strings.HasPrefix(p, e+"/") {
			return true
		}
	}
	return false
}
