package zkconn

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// opSync is the opcode of ZooKeeper's sync request.
const opSync = 9

// cutProxy forwards plain ZooKeeper connections to a server and, when
// armed, drops the connection that carries the next sync request instead
// of forwarding it: the client then sees exactly that request fail with a
// lost connection, whatever else (pings) it sends meanwhile.
type cutProxy struct {
	target string
	ln     net.Listener
	armed  atomic.Bool
	cuts   atomic.Int32
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{target: target, ln: ln}
	p.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(conn) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(client, server); _ = client.Close() }()
	// Client frames: 4-byte length, then the body; after the connect
	// request every body starts with xid and opcode.
	first := true
	for {
		var size [4]byte
		if _, err := io.ReadFull(client, size[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(client, body); err != nil {
			return
		}
		if !first && len(body) >= 8 && int32(binary.BigEndian.Uint32(body[4:8])) == opSync && p.armed.CompareAndSwap(true, false) {
			p.cuts.Add(1)
			return
		}
		first = false
		if _, err := server.Write(append(size[:], body...)); err != nil {
			return
		}
	}
}

// TestFenceRetried: the zxid fence is read like every other call of the
// walk: a connection lost under its sync is retried on the same session,
// not a failed backup.
func TestFenceRetried(t *testing.T) {
	p := startCutProxy(t, testenv.Lookup(t, "ZUULSTATE_TEST_ZK_PROD_ADDR"))
	c, err := Connect(t.Context(), Config{Servers: []string{p.ln.Addr().String()}, Sessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := c.Fence(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.armed.Store(true)
	after, err := c.Fence(t.Context())
	if err != nil {
		t.Fatalf("the fence failed on a lost connection instead of being retried: %v", err)
	}
	if p.cuts.Load() != 1 || c.Retries() == 0 || after < before {
		t.Fatalf("cuts %d, retries %d, zxid %#x then %#x", p.cuts.Load(), c.Retries(), before, after)
	}
}
