package zktree

import "slices"

// Backup profiles.
const (
	ProfileZuul = "zuul" // Zuul's irreplaceable state (default)
	ProfileAll  = "all"  // every node but /zookeeper and ephemerals
)

// ZuulRoots are the subtrees of the zuul profile (DESIGN.md section 3):
// project keys, OIDC signing keys, Nodepool's records and the system id.
// /zuul, Zuul's runtime state, is left out: Zuul rebuilds it.
var ZuulRoots = []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul-system"}

// Internal is ZooKeeper's own subtree, never backed up or restored.
const Internal = "/zookeeper"

// Selection is what a backup or restore covers: whole subtrees, minus
// excluded subtrees inside them.
type Selection struct {
	Roots   []string
	Exclude []string
}

// Normalize sorts roots and excludes, drops roots inside other roots or
// inside an exclude, drops excludes that are outside every root, and
// drops ZooKeeper's own subtree.
func Normalize(roots, exclude []string) Selection {
	less := func(a, b string) int {
		switch {
		case a == b:
			return 0
		case DFSLess(a, b):
			return -1
		}
		return 1
	}
	ex := slices.SortedFunc(slices.Values(append(slices.Clone(exclude), Internal)), less)
	excluded := func(p string) bool {
		for _, e := range ex {
			if Under(p, e) {
				return true
			}
		}
		return false
	}
	var out Selection
	for _, r := range slices.SortedFunc(slices.Values(roots), less) {
		if n := len(out.Roots); (n > 0 && Under(r, out.Roots[n-1])) || excluded(r) {
			continue
		}
		out.Roots = append(out.Roots, r)
	}
	for _, e := range slices.Compact(ex) {
		for _, r := range out.Roots {
			if e != r && Under(e, r) {
				out.Exclude = append(out.Exclude, e)
				break
			}
		}
	}
	return out
}

// Covered reports whether p is inside one of the roots and not excluded.
func (s Selection) Covered(p string) bool {
	for _, e := range s.Exclude {
		if Under(p, e) {
			return false
		}
	}
	for _, r := range s.Roots {
		if Under(p, r) {
			return true
		}
	}
	return false
}
