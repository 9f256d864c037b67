package snapdiff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// diffTrees compares two zookeeper tree parts: node data, ACL and kind.
// Stats (versions, zxids, times) are not compared: they change with every
// write and cannot be restored anyway.
func diffTrees(ctx context.Context, ra, rb io.Reader, emit func(kind, path, detail string)) error {
	da, err := zktree.NewDecoder(ra)
	if err != nil {
		return fmt.Errorf("snapshot A: %w", err)
	}
	db, err := zktree.NewDecoder(rb)
	if err != nil {
		return fmt.Errorf("snapshot B: %w", err)
	}
	return merge(ctx, ordered(znodes(da), zktree.DFSLess, "snapshot A"), ordered(znodes(db), zktree.DFSLess, "snapshot B"), zktree.DFSLess, emit)
}

func znodes(d *zktree.Decoder) iterator {
	return func() (*entry, error) {
		r, err := d.Next()
		if err != nil {
			return nil, err
		}
		sum := "null"
		if r.Data != nil {
			h := sha256.Sum256(r.Data)
			sum = hex.EncodeToString(h[:])
		}
		var acl strings.Builder
		for _, a := range r.ACL {
			fmt.Fprintf(&acl, "%s:%s:%d,", a.Scheme, a.ID, a.Perms)
		}
		kind := fmt.Sprintf("%d/%s", r.Kind, r.TTL)
		return &entry{path: strings.Clone(r.Path), attrs: []attr{
			{name: "data", value: sum, shown: fmt.Sprintf("%d bytes", len(r.Data))},
			{name: "acl", value: acl.String()},
			{name: "kind", value: kind, shown: kind},
		}}, nil
	}
}
