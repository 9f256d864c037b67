package restore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
)

// Select returns the parts of m chosen by include that have a restorer. An
// include entry matching nothing is an error, since the operator asked for
// something this snapshot does not have.
func Select(m *snapshot.Manifest, restorers map[string]Restorer, include []string) ([]snapshot.Part, error) {
	var out []snapshot.Part
	used := make([]bool, len(include))
	for _, p := range m.Parts {
		match := Included(include, p)
		for i, inc := range include {
			if matches(inc, p) {
				used[i] = true
			}
		}
		if !match {
			continue
		}
		if restorers[p.Source] == nil {
			if len(include) > 0 {
				return nil, fmt.Errorf("part %s/%s: no restorer for source %q is configured", p.Source, p.Name, p.Source)
			}
			continue
		}
		out = append(out, p)
	}
	for i, u := range used {
		if !u {
			return nil, fmt.Errorf("snapshot %s has no part %q (parts: %s)", m.ID, include[i], partNames(m))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("snapshot %s has nothing to restore with the configured restorers (parts: %s)", m.ID, partNames(m))
	}
	return out, nil
}

// Included reports whether include ("source" or "source/name" entries;
// empty means everything) selects part p.
func Included(include []string, p snapshot.Part) bool {
	if len(include) == 0 {
		return true
	}
	for _, inc := range include {
		if matches(inc, p) {
			return true
		}
	}
	return false
}

func matches(inc string, p snapshot.Part) bool {
	return inc == p.Source || inc == p.Source+"/"+p.Name
}

func partNames(m *snapshot.Manifest) string {
	var names []string
	for _, p := range m.Parts {
		names = append(names, p.Source+"/"+p.Name)
	}
	return strings.Join(slices.Compact(names), ", ")
}

// InOrder sorts parts by source in the order of sources, keeping the
// manifest order within a source; sources not listed come last.
func InOrder(parts []snapshot.Part, sources []string) []snapshot.Part {
	rank := func(source string) int {
		if i := slices.Index(sources, source); i >= 0 {
			return i
		}
		return len(sources)
	}
	out := slices.Clone(parts)
	slices.SortStableFunc(out, func(a, b snapshot.Part) int { return rank(a.Source) - rank(b.Source) })
	return out
}

func partsOf(parts []snapshot.Part, source string) []snapshot.Part {
	var out []snapshot.Part
	for _, p := range parts {
		if p.Source == source {
			out = append(out, p)
		}
	}
	return out
}
