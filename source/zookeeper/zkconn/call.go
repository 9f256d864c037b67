package zkconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
)

// ErrUnimplemented is the server's "unimplemented" reply, which
// go-zookeeper reports as an unknown error code: for TTL nodes it means the
// server runs without zookeeper.extendedTypesEnabled.
var ErrUnimplemented = errors.New("zookeeper: operation not implemented by the server")

// call runs fn on session s in the calling goroutine (a goroutine per call
// costs a third of the client's CPU at full speed). The library's calls
// cannot be abandoned one by one, so the watchdog enforces the timeout and
// ctx: it drops the session's connection, which fails every call in flight
// on it; the others are retried by their callers.
func (c *Client) call(ctx context.Context, s *session, fn func(*zk.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &callRec{ctx: ctx, s: s, start: time.Now()}
	c.calls.add(r)
	err := fn(s.conn)
	c.calls.remove(r)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case r.timedOut.Load() && err != nil:
		return fmt.Errorf("%w after %s", ErrTimeout, c.cfg.RequestTimeout)
	case err != nil && err.Error() == "unknown error: -6":
		return ErrUnimplemented
	}
	return err
}

// pick spreads calls over the sessions.
func (c *Client) pick() *session {
	if len(c.sessions) == 1 {
		return c.sessions[0]
	}
	return c.sessions[int(c.next.Add(1))%len(c.sessions)]
}

// Retryable reports whether err is a lost connection, expired session or
// timeout, after which the same request may succeed. go-zookeeper hands
// a request the raw network error when its write fails.
func Retryable(err error) bool {
	var ne net.Error
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrNoServer) || errors.Is(err, ErrTimeout) || errors.Is(err, zk.ErrSessionMoved) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// Do runs fn once on one session with the request timeout.
func (c *Client) Do(ctx context.Context, fn func(*zk.Conn) error) error {
	return c.call(ctx, c.pick(), fn)
}

// Retry runs fn until it succeeds, fails with an error that is not
// Retryable, or RetryTimeout has passed since the first failure. Only for
// requests that are safe to repeat.
func (c *Client) Retry(ctx context.Context, fn func(*zk.Conn) error) error {
	return c.retry(ctx, c.pick, fn)
}

// retry is Retry on the session that on returns for each attempt.
func (c *Client) retry(ctx context.Context, on func() *session, fn func(*zk.Conn) error) error {
	var deadline time.Time
	backoff := 50 * time.Millisecond
	for {
		err := c.call(ctx, on(), fn)
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(c.cfg.RetryTimeout)
		} else if time.Now().After(deadline) {
			return fmt.Errorf("%w (still failing after retrying for %s; %s)", err, c.cfg.RetryTimeout, c.connectHint())
		}
		c.retries.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// Abs is the server path of path under the chroot.
func (c *Client) Abs(path string) string {
	if c.cfg.Chroot == "" {
		return path
	}
	if path == "/" {
		return c.cfg.Chroot
	}
	return c.cfg.Chroot + path
}

// rel strips the chroot from a server path.
func (c *Client) rel(path string) string {
	if c.cfg.Chroot == "" {
		return path
	}
	if path == c.cfg.Chroot {
		return "/"
	}
	return path[len(c.cfg.Chroot):]
}

// Get reads a node's data (nil and empty kept apart) and stat, retrying.
func (c *Client) Get(ctx context.Context, path string) (data []byte, st *zk.Stat, err error) {
	p := c.Abs(path)
	err = c.Retry(ctx, func(z *zk.Conn) error {
		d, s, e := z.Get(p)
		data, st = d, s
		return e
	})
	return data, st, err
}

// GetACL reads a node's ACL and stat, retrying.
func (c *Client) GetACL(ctx context.Context, path string) (acl []zk.ACL, st *zk.Stat, err error) {
	p := c.Abs(path)
	err = c.Retry(ctx, func(z *zk.Conn) error {
		a, s, e := z.GetACL(p)
		acl, st = a, s
		return e
	})
	return acl, st, err
}

// Children lists a node's children (unsorted) with its stat, retrying.
func (c *Client) Children(ctx context.Context, path string) (names []string, st *zk.Stat, err error) {
	p := c.Abs(path)
	err = c.Retry(ctx, func(z *zk.Conn) error {
		n, s, e := z.Children(p)
		names, st = n, s
		return e
	})
	return names, st, err
}

// Exists reports whether a node exists, with its stat, retrying.
func (c *Client) Exists(ctx context.Context, path string) (ok bool, st *zk.Stat, err error) {
	p := c.Abs(path)
	err = c.Retry(ctx, func(z *zk.Conn) error {
		o, s, e := z.Exists(p)
		ok, st = o, s
		return e
	})
	return ok, st, err
}

// Fence returns the zxid of the last transaction the server had applied,
// after syncing it with the leader: reply headers carry it. Every session
// is synced (each may be connected to another server), each retried like
// the walk's reads: a sync and an exists change nothing.
func (c *Client) Fence(ctx context.Context) (int64, error) {
	p := c.Abs("/")
	for _, s := range c.sessions {
		err := c.retry(ctx, func() *session { return s }, func(z *zk.Conn) error {
			if _, err := z.Sync(p); err != nil {
				return err
			}
			_, _, err := z.Exists(p)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("%s: read the zxid fence: %w", c, err)
		}
	}
	return c.zxid.Load(), nil
}
