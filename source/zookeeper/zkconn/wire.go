package zkconn

import (
	"bufio"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// wireConn wraps one client connection (the plaintext side, inside TLS). It
// buffers reads, which go-zookeeper does two syscalls per reply without, and
// it watches the framing of the protocol in both directions:
//
//   - every reply header carries the zxid the server had processed when it
//     answered; the highest one seen is the zxid fence (the library keeps
//     its own copy private);
//   - go-zookeeper writes each request as one Write of one whole frame, in
//     the order requests were queued, so counting the written frames of
//     multi, createContainer and createTTL requests tells a caller when its
//     request is queued for the wire and the next one may follow it in
//     order (see Client.OrderedWrites).
type wireConn struct {
	net.Conn
	r *bufio.Reader
	c *Client

	// Writes are queued and sent by flush, many requests per syscall when
	// many are in flight (the library writes one request per Write).
	wmu     sync.Mutex
	pending []byte
	werr    error
	kick    chan struct{}
	done    chan struct{}
	once    sync.Once

	// Reply framing state, touched only by the library's receive loop.
	first   bool // the connect response has no reply header
	lenBuf  [4]byte
	lenN    int
	hdr     [16]byte
	hdrN    int
	remain  int  // bytes of the current frame not yet seen
	inFrame bool // lenBuf complete, frame not finished
}

func newWireConn(conn net.Conn, c *Client) *wireConn {
	w := &wireConn{Conn: conn, r: bufio.NewReaderSize(conn, 64<<10), c: c, first: true,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go w.flush()
	return w
}

// flush sends queued writes until the connection is closed or a write
// fails; the error is returned by the next Write.
func (w *wireConn) flush() {
	var buf []byte
	for {
		select {
		case <-w.kick:
		case <-w.done:
			return
		}
		// Let the other callers queue their requests too: one syscall
		// then carries many (the server also reads them in one go).
		runtime.Gosched()
		w.wmu.Lock()
		buf, w.pending = w.pending, buf[:0]
		w.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_ = w.Conn.SetWriteDeadline(time.Now().Add(w.c.cfg.RequestTimeout))
		if _, err := w.Conn.Write(buf); err != nil {
			w.c.noteIOError(err)
			w.wmu.Lock()
			w.werr = err
			w.wmu.Unlock()
			_ = w.Conn.Close()
			return
		}
	}
}

func (w *wireConn) Close() error {
	w.once.Do(func() { close(w.done) })
	return w.Conn.Close()
}

// SetWriteDeadline is ignored: the library sets one around each Write,
// which now only queues; flush sets its own.
func (w *wireConn) SetWriteDeadline(time.Time) error { return nil }

func (w *wireConn) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.observe(p[:n])
	if err != nil {
		w.c.noteIOError(err)
	}
	return n, err
}

func (w *wireConn) Write(p []byte) (int, error) {
	// A request frame is length(4) xid(4) opcode(4) body.
	if len(p) >= 12 {
		switch int32(binary.BigEndian.Uint32(p[8:12])) {
		case opMulti, opCreateContainer, opCreateTTL:
			w.c.ordered.add()
		}
	}
	w.wmu.Lock()
	if err := w.werr; err != nil {
		w.wmu.Unlock()
		return 0, err
	}
	w.pending = append(w.pending, p...)
	w.wmu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return len(p), nil
}

// ZooKeeper's opcodes of the requests Client.OrderedWrites counts.
const (
	opMulti           = 14
	opCreateContainer = 19
	opCreateTTL       = 21
)

// observe feeds reply bytes through the frame parser.
func (w *wireConn) observe(p []byte) {
	for len(p) > 0 {
		if !w.inFrame {
			k := copy(w.lenBuf[w.lenN:], p)
			w.lenN += k
			p = p[k:]
			if w.lenN < 4 {
				return
			}
			w.remain = int(binary.BigEndian.Uint32(w.lenBuf[:]))
			w.lenN, w.hdrN, w.inFrame = 0, 0, true
			continue
		}
		if !w.first && w.hdrN < len(w.hdr) {
			k := min(len(w.hdr)-w.hdrN, len(p), w.remain)
			copy(w.hdr[w.hdrN:], p[:k])
			w.hdrN += k
			w.remain -= k
			p = p[k:]
			if w.hdrN == len(w.hdr) {
				// xid(4) zxid(8) err(4); notifications carry zxid -1.
				w.c.seeZxid(int64(binary.BigEndian.Uint64(w.hdr[4:12])))
			}
		} else {
			k := min(len(p), w.remain)
			w.remain -= k
			p = p[k:]
		}
		if w.remain == 0 {
			w.inFrame, w.first = false, false
		}
	}
}

// counter is a monotonic count with a broadcast on every increment.
type counter struct {
	n  atomic.Uint64
	mu sync.Mutex
	ch chan struct{}
}

func (c *counter) add() {
	c.n.Add(1)
	c.mu.Lock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
	c.mu.Unlock()
}

// wait returns a channel closed at the next increment after the call.
func (c *counter) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}
