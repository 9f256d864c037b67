package zkconn

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/config"
)

func TestACLText(t *testing.T) {
	for _, s := range []string{"world:anyone:cdrwa", "digest:user:abc+/=:r", "ip:10.0.0.0/8:rw", "x509:CN=a,O=b:a"} {
		a, err := config.ParseACL(s)
		if err != nil || FormatACL(a) != s {
			t.Errorf("%s: %+v %v -> %s", s, a, err, FormatACL(a))
		}
	}
	for _, bad := range []string{"world", "world:anyone:", "world:anyone:rx", ":x:r"} {
		if _, err := config.ParseACL(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := zk.DigestACL(zk.PermAll, "u", "p")[0].ID; DigestID("u", "p") != got {
		t.Fatalf("digest id %s, want %s", DigestID("u", "p"), got)
	}
	acl := []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "digest", ID: DigestID("u", "p")}}
	if Grants(acl, zk.PermCreate, "") || !Grants(acl, zk.PermCreate|zk.PermDelete, DigestID("u", "p")) || !Masked(zk.ACL{Scheme: "digest", ID: "u:x"}) {
		t.Fatal("grants/masked")
	}
}

// frame builds one reply: length, then xid, zxid, error and a body.
func frame(zxid int64, body int) []byte {
	b := make([]byte, 4+16+body)
	binary.BigEndian.PutUint32(b, uint32(16+body))
	binary.BigEndian.PutUint64(b[8:], uint64(zxid))
	return b
}

func TestReplyZxids(t *testing.T) {
	c := &Client{}
	w := &wireConn{c: c, first: true}
	connect := make([]byte, 4+36)
	binary.BigEndian.PutUint32(connect, 36)
	binary.BigEndian.PutUint64(connect[4+8:], 0x7fffffff) // inside the connect response: not a zxid
	stream := append(connect, frame(0x10, 5)...)
	stream = append(stream, frame(-1, 30)...) // a watch notification
	stream = append(stream, frame(0x2a, 0)...)
	stream = append(stream, frame(0x29, 1000)...)
	// Fed in awkward pieces, as reads return them.
	for len(stream) > 0 {
		n := min(len(stream), 7)
		w.observe(stream[:n])
		stream = stream[n:]
	}
	if got := c.zxid.Load(); got != 0x2a {
		t.Fatalf("zxid %#x, want 0x2a", got)
	}
}

func TestRetryable(t *testing.T) {
	for _, err := range []error{zk.ErrConnectionClosed, zk.ErrSessionExpired, ErrTimeout, net.ErrClosed, errors.Join(errors.New("x"), zk.ErrNoServer)} {
		if !Retryable(err) {
			t.Errorf("%v not retryable", err)
		}
	}
	for _, err := range []error{zk.ErrNoNode, zk.ErrNoAuth, zk.ErrNodeExists, ErrUnimplemented} {
		if Retryable(err) {
			t.Errorf("%v retryable", err)
		}
	}
}
