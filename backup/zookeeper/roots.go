package zookeeper

import (
	"context"
	"fmt"
	"slices"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// resolve turns a profile and the include/exclude lists into roots. The
// all profile (and an include of "/") lists the top level of the tree, so
// each top-level subtree is a root of its own with its own digest.
func resolve(ctx context.Context, c *zkconn.Client, profile string, include, exclude []string) (zktree.Selection, error) {
	var roots []string
	all := profile == zktree.ProfileAll || slices.Contains(include, "/")
	switch profile {
	case "", zktree.ProfileZuul:
		roots = slices.Clone(zktree.ZuulRoots)
	case zktree.ProfileAll:
	default:
		return zktree.Selection{}, fmt.Errorf("unknown profile %q (use zuul or all)", profile)
	}
	if all {
		names, _, err := c.Children(ctx, "/")
		if err != nil {
			return zktree.Selection{}, fmt.Errorf("list the top level of %s: %w", c, err)
		}
		for _, n := range names {
			roots = append(roots, zktree.Join("/", n))
		}
	}
	for _, p := range include {
		if p != "/" {
			roots = append(roots, p)
		}
	}
	return zktree.Normalize(roots, exclude), nil
}
