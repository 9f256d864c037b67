package zkconn

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// Writes are not retried here: after a lost connection the caller must find
// out whether the write was applied before repeating it.

// Create creates a node with flags (zk.FlagSequence, …) and returns its
// path (with the sequence number for sequential nodes).
func (c *Client) Create(ctx context.Context, path string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	var out string
	err := c.Do(ctx, func(z *zk.Conn) error {
		p, e := z.Create(c.Abs(path), data, flags, acl)
		out = p
		return e
	})
	return c.rel(out), err
}

// CreateContainer creates a container node.
func (c *Client) CreateContainer(ctx context.Context, path string, data []byte, acl []zk.ACL) error {
	return c.Do(ctx, func(z *zk.Conn) error {
		_, e := z.CreateContainer(c.Abs(path), data, zk.FlagContainer, acl)
		return e
	})
}

// CreateTTL creates a persistent node with a TTL (ErrUnimplemented when the
// server has extended types disabled).
func (c *Client) CreateTTL(ctx context.Context, path string, data []byte, acl []zk.ACL, ttl time.Duration) error {
	return c.Do(ctx, func(z *zk.Conn) error {
		_, e := z.CreateTTL(c.Abs(path), data, zk.FlagTTL, acl, ttl)
		return e
	})
}

// Delete deletes a node (version -1: any).
func (c *Client) Delete(ctx context.Context, path string) error {
	return c.Do(ctx, func(z *zk.Conn) error { return z.Delete(c.Abs(path), -1) })
}

// SetACL replaces a node's ACL, retrying (it is idempotent).
func (c *Client) SetACL(ctx context.Context, path string, acl []zk.ACL) error {
	return c.Retry(ctx, func(z *zk.Conn) error {
		_, e := z.SetACL(c.Abs(path), acl, -1)
		return e
	})
}

// Multi runs ops (*zk.CreateRequest, *zk.DeleteRequest, *zk.SetDataRequest,
// *zk.CheckVersionRequest with paths relative to the chroot) as one
// transaction on session number sess (-1: any session).
func (c *Client) Multi(ctx context.Context, sess int, ops []any) ([]zk.MultiResponse, error) {
	if c.cfg.Chroot != "" {
		ops = c.chrootOps(ops)
	}
	s := c.pick()
	if sess >= 0 {
		s = c.sessions[sess%len(c.sessions)]
	}
	var res []zk.MultiResponse
	err := c.call(ctx, s, func(z *zk.Conn) error {
		r, e := z.Multi(ops...)
		res = r
		return e
	})
	return res, err
}

func (c *Client) chrootOps(ops []any) []any {
	out := make([]any, len(ops))
	for i, op := range ops {
		switch o := op.(type) {
		case *zk.CreateRequest:
			cp := *o
			cp.Path = c.Abs(o.Path)
			out[i] = &cp
		case *zk.DeleteRequest:
			cp := *o
			cp.Path = c.Abs(o.Path)
			out[i] = &cp
		case *zk.SetDataRequest:
			cp := *o
			cp.Path = c.Abs(o.Path)
			out[i] = &cp
		case *zk.CheckVersionRequest:
			cp := *o
			cp.Path = c.Abs(o.Path)
			out[i] = &cp
		default:
			out[i] = op
		}
	}
	return out
}

// OrderedWrites is the number of multi, createContainer and createTTL
// requests queued for the wire so far by all sessions. go-zookeeper sends
// requests in the order they were queued and the server applies a
// session's requests in order, so a caller that waits (WaitOrderedWrite)
// until its request is queued before issuing the next keeps them in order
// with many in flight on a one-session client, as long as nothing else
// issues such requests on it.
func (c *Client) OrderedWrites() uint64 { return c.ordered.n.Load() }

// WaitOrderedWrite blocks until OrderedWrites exceeds n, stop is closed
// (the request failed before it was sent) or ctx ends.
func (c *Client) WaitOrderedWrite(ctx context.Context, n uint64, stop <-chan struct{}) error {
	for {
		ch := c.ordered.wait()
		if c.ordered.n.Load() > n {
			return nil
		}
		select {
		case <-ch:
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// MultiError returns the first failed operation's error with its path, or
// err when no single operation is to blame.
func MultiError(ops []any, res []zk.MultiResponse, err error) error {
	if err == nil {
		return nil
	}
	for i, r := range res {
		if r.Error == nil || i >= len(ops) || r.Error.Error() == "unknown error: -2" {
			// -2 (runtime inconsistency) marks the operations rolled back
			// because another one failed.
			continue
		}
		return fmt.Errorf("%s %s: %w", opName(ops[i]), opPath(ops[i]), r.Error)
	}
	return err
}

func opName(op any) string {
	switch op.(type) {
	case *zk.CreateRequest:
		return "create"
	case *zk.DeleteRequest:
		return "delete"
	case *zk.SetDataRequest:
		return "set data of"
	}
	return "check"
}

func opPath(op any) string {
	switch o := op.(type) {
	case *zk.CreateRequest:
		return o.Path
	case *zk.DeleteRequest:
		return o.Path
	case *zk.SetDataRequest:
		return o.Path
	case *zk.CheckVersionRequest:
		return o.Path
	}
	return "?"
}
