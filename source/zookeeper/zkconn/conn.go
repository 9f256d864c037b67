// Package zkconn is zuulstate's ZooKeeper client layer over
// github.com/go-zookeeper/zk: sessions over plain TCP or TLS (client
// certificate, hostname verification) through zk.WithDialer, digest auth,
// an optional chroot, a timeout and context on every call (the library's
// calls take none), retries of idempotent reads across connection loss and
// session expiry, and the zxid fence read from reply headers. The backup
// walk and the restore both talk to ZooKeeper only through a Client.
package zkconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Config says how to reach one ZooKeeper ensemble.
type Config struct {
	Servers []string // host:port
	// Chroot, when set ("/zuul"), is prepended to every path.
	Chroot         string
	SessionTimeout time.Duration // default 30s
	ConnectTimeout time.Duration // wait for the first session; default 20s
	RequestTimeout time.Duration // one call; default 30s
	// RetryTimeout bounds how long a read is retried after connection loss
	// or session expiry; default 2 × SessionTimeout.
	RetryTimeout time.Duration
	TLS          *tls.Config // nil = plain TCP
	// DigestUser and DigestPassword add digest auth to every session.
	// The password is never logged or put into errors.
	DigestUser, DigestPassword string
	// Sessions is the number of sessions calls are spread over; default 1.
	Sessions int
	Log      *slog.Logger
}

// ErrTimeout is returned by a call that got no reply within RequestTimeout.
var ErrTimeout = errors.New("zookeeper request timed out")

// Client is a set of sessions to one ensemble. Safe for concurrent use.
type Client struct {
	cfg      Config
	sessions []*session
	next     atomic.Uint32
	log      *slog.Logger
	calls    tracker
	stop     chan struct{}

	zxid    atomic.Int64
	ordered counter
	retries atomic.Int64

	errMu   sync.Mutex
	lastErr string
}

// Connect opens cfg.Sessions sessions and authenticates them. It fails
// with one line naming the servers and the last connection error when no
// session is established within ConnectTimeout.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("zookeeper: no servers configured")
	}
	cfg.Chroot = strings.TrimRight(cfg.Chroot, "/")
	setDefault(&cfg.SessionTimeout, 30*time.Second)
	setDefault(&cfg.ConnectTimeout, 20*time.Second)
	setDefault(&cfg.RequestTimeout, 30*time.Second)
	setDefault(&cfg.RetryTimeout, 2*cfg.SessionTimeout)
	cfg.Sessions = max(cfg.Sessions, 1)
	c := &Client{cfg: cfg, log: cfg.Log, stop: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.calls.calls = map[*callRec]struct{}{}
	go c.watchdog()
	for range cfg.Sessions {
		s, err := c.open(ctx)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.sessions = append(c.sessions, s)
	}
	return c, nil
}

// session is one ZooKeeper session and its current connection.
type session struct {
	conn *zk.Conn
	cur  atomic.Pointer[wireConn]
}

// interrupt drops the session's connection, failing its calls in flight
// with zk.ErrConnectionClosed; the library reconnects to the same session.
func (s *session) interrupt() {
	if w := s.cur.Load(); w != nil {
		_ = w.Conn.Close()
	}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

func (c *Client) open(ctx context.Context) (*session, error) {
	s := &session{}
	dial := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		w, err := c.dial(network, addr, timeout)
		if err == nil {
			s.cur.Store(w)
		}
		return w, err
	}
	ready := make(chan struct{}, 1)
	onEvent := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			select {
			case ready <- struct{}{}:
			default:
			}
		}
	}
	conn, _, err := zk.Connect(c.cfg.Servers, c.cfg.SessionTimeout, zk.WithDialer(dial),
		zk.WithLogger(libLogger{c}), zk.WithLogInfo(false), zk.WithEventCallback(onEvent))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	t := time.NewTimer(c.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
		conn.Close()
		return nil, ctx.Err()
	case <-t.C:
		conn.Close()
		return nil, fmt.Errorf("%s: no session within %s: %s", c, c.cfg.ConnectTimeout, c.connectHint())
	}
	s.conn = conn
	if c.cfg.DigestUser != "" {
		auth := []byte(c.cfg.DigestUser + ":" + c.cfg.DigestPassword)
		if err := c.call(ctx, s, func(z *zk.Conn) error { return z.AddAuth("digest", auth) }); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: digest auth as %q: %w", c, c.cfg.DigestUser, err)
		}
	}
	return s, nil
}

// connectHint explains a failed connection from the last error seen.
func (c *Client) connectHint() string {
	last := c.lastError()
	var hint string
	switch {
	case last == "":
		return "no reply from any server (check servers and that ZooKeeper is running)"
	case strings.Contains(last, "certificate required"), strings.Contains(last, "bad certificate"):
		hint = "the server wants a client certificate it trusts: set tls.cert_file and tls.key_file"
	case strings.Contains(last, "x509:"), strings.Contains(last, "tls: failed to verify"):
		hint = "the server's certificate is not trusted or does not match its name: check tls.ca_file and tls.server_name"
	case strings.Contains(last, "first record does not look like a TLS handshake"),
		strings.Contains(last, "TLS handshake") && (strings.Contains(last, "EOF") || strings.Contains(last, "reset")):
		hint = "the server does not speak TLS on this port: use its secureClientPort, or remove tls"
	case c.cfg.TLS == nil && (strings.Contains(last, "EOF") || strings.Contains(last, "reset")):
		hint = "the server closed the connection: if this is its TLS port (secureClientPort), configure tls"
	case strings.Contains(last, "refused"), strings.Contains(last, "no route"), strings.Contains(last, "i/o timeout"):
		hint = "check servers and that ZooKeeper is running and reachable"
	default:
		hint = "check servers, tls and the server's log"
	}
	return "last error: " + last + " (" + hint + ")"
}

func (c *Client) dial(network, addr string, timeout time.Duration) (*wireConn, error) {
	conn, err := c.dialRaw(network, addr, timeout)
	if err != nil {
		c.noteError(err)
		return nil, err
	}
	return newWireConn(conn, c), nil
}

// dialRaw connects to addr and, with TLS, completes the handshake, so a
// certificate problem surfaces here instead of as a closed connection.
func (c *Client) dialRaw(network, addr string, timeout time.Duration) (net.Conn, error) {
	// The library asks for 1s, too short for a TLS handshake on a busy host.
	timeout = max(timeout, 10*time.Second)
	raw, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	if c.cfg.TLS == nil {
		return raw, nil
	}
	tc := c.cfg.TLS.Clone()
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(addr)
	}
	conn := tls.Client(raw, tc)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := conn.Handshake(); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

func (c *Client) noteError(err error) {
	if errors.Is(err, net.ErrClosed) {
		return
	}
	c.errMu.Lock()
	c.lastErr = err.Error()
	c.errMu.Unlock()
}

func (c *Client) noteIOError(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The library's own read deadlines; it reports them itself.
		return
	}
	c.noteError(err)
}

func (c *Client) lastError() string {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.lastErr
}

func (c *Client) seeZxid(z int64) {
	for {
		old := c.zxid.Load()
		if z <= old || c.zxid.CompareAndSwap(old, z) {
			return
		}
	}
}

// String names the ensemble (and chroot) for messages.
func (c *Client) String() string {
	return "zookeeper " + strings.Join(c.cfg.Servers, ",") + c.cfg.Chroot
}

// Close ends every session.
func (c *Client) Close() {
	for _, s := range c.sessions {
		s.conn.Close()
	}
	c.sessions = nil
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

// Retries is how many calls were retried after connection loss.
func (c *Client) Retries() int64 { return c.retries.Load() }

// libLogger sends the library's messages to the debug log.
type libLogger struct{ c *Client }

func (l libLogger) Printf(format string, args ...any) {
	l.c.log.Debug(fmt.Sprintf(format, args...), "component", "go-zookeeper")
}
