package zookeeper

import (
	"context"
	"fmt"

	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// ChrootExists reports whether the configured chroot node exists. A
// restore drill restores into a chroot of its own, which must not.
func (r *Restorer) ChrootExists(ctx context.Context) (bool, error) {
	_, aux, err := r.conns(ctx)
	if err != nil {
		return false, err
	}
	ok, _, err := aux.Exists(ctx, "/")
	if err != nil {
		return false, fmt.Errorf("check %s on %s: %w", r.cfg.Conn.Chroot, aux, err)
	}
	return ok, nil
}

// DeleteChroot deletes the configured chroot node and everything below
// it, ephemeral nodes included, children first, and returns how many
// nodes it deleted. Only a restore drill calls it, for its own chroot; it
// refuses to run without a chroot.
func (r *Restorer) DeleteChroot(ctx context.Context) (int64, error) {
	if r.cfg.Conn.Chroot == "" || r.cfg.Conn.Chroot == "/" {
		return 0, fmt.Errorf("refusing to delete the whole tree of %v: no chroot", r.cfg.Conn.Servers)
	}
	c, aux, err := r.conns(ctx)
	if err != nil {
		return 0, err
	}
	pl := &plan{sel: zktree.Selection{Roots: []string{"/"}}}
	n, err := r.wipe(ctx, c, aux, pl)
	if err != nil {
		return n, fmt.Errorf("delete %s: %w", r.cfg.Conn.Chroot, err)
	}
	return n, nil
}
