package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"slices"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// kindDirectory is the drill's own directory on this machine, which the
// job creates and removes itself.
const kindDirectory = "directory"

// scratchSet is every source's share of one drill.
type scratchSet struct {
	request  source.DrillRequest
	scratch  map[string]source.Scratch // by source name
	plans    map[string]source.ScratchPlan
	order    []string // sources with parts, in restore order
	dir      source.ScratchName
	include  []string // the parts restored, as source/part
	unloaded []snapshot.Part
}

func newScratchSet(cfg *config.Config, prefix, dir, host string, log *slog.Logger, out io.Writer) *scratchSet {
	return &scratchSet{
		request: source.DrillRequest{Config: cfg, Prefix: prefix, Dir: dir, Log: log, Out: out},
		scratch: map[string]source.Scratch{}, plans: map[string]source.ScratchPlan{},
		dir: source.ScratchName{Kind: kindDirectory, Name: dir, Where: "host " + host},
	}
}

// get builds the named source's share once.
func (s *scratchSet) get(name string) (source.Scratch, error) {
	if sc := s.scratch[name]; sc != nil {
		return sc, nil
	}
	for _, d := range Sources {
		if d.Name != name {
			continue
		}
		if d.Drill == nil {
			return nil, fmt.Errorf("source %s cannot be drilled: it has no scratch places", name)
		}
		sc, err := d.Drill(s.request)
		if err != nil {
			return nil, err
		}
		s.scratch[name] = sc
		return sc, nil
	}
	return nil, fmt.Errorf("snapshot part of unknown source %q: upgrade zuulstate", name)
}

// plan builds the restorer of every source of m and lists the names.
func (s *scratchSet) plan(ctx context.Context, m *snapshot.Manifest) error {
	for _, d := range inRestoreOrder() {
		parts := slices.DeleteFunc(slices.Clone(m.Parts), func(p snapshot.Part) bool { return p.Source != d.Name })
		if len(parts) == 0 {
			continue
		}
		sc, err := s.get(d.Name)
		if err != nil {
			return err
		}
		pl, err := sc.Plan(ctx, parts)
		if err != nil {
			return fmt.Errorf("source %s: %w", d.Name, err)
		}
		s.plans[d.Name] = pl
		s.order = append(s.order, d.Name)
		for _, p := range parts {
			if slices.Contains(pl.Unloaded, p.Name) {
				s.unloaded = append(s.unloaded, p)
			} else {
				s.include = append(s.include, p.Source+"/"+p.Name)
			}
		}
	}
	for _, n := range s.names() {
		if !n.Own() {
			return fmt.Errorf("internal error: the drill would write to %s, which is not a scratch name", n)
		}
	}
	return nil
}

// names lists every scratch name of the drill, its directory last.
func (s *scratchSet) names() []source.ScratchName {
	var out []source.ScratchName
	for _, name := range s.order {
		out = append(out, s.plans[name].Names...)
	}
	return append(out, s.dir)
}

// restorers returns the restorers in restore order and where each goes.
func (s *scratchSet) restorers() ([]restore.Restorer, map[string]string) {
	var out []restore.Restorer
	dest := map[string]string{}
	for _, name := range s.order {
		if pl := s.plans[name]; pl.Restorer != nil {
			out = append(out, pl.Restorer)
			dest[name] = pl.Destination
		}
	}
	return out, dest
}

// existing returns those of names that exist.
func (s *scratchSet) existing(ctx context.Context, names []source.ScratchName) ([]source.ScratchName, error) {
	var out []source.ScratchName
	for src, group := range bySource(names) {
		if src == "" {
			for _, n := range group {
				if _, err := os.Lstat(n.Name); err == nil {
					out = append(out, n)
				} else if !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
			continue
		}
		sc, err := s.get(src)
		if err != nil {
			return nil, err
		}
		found, err := sc.Existing(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("check the drill's scratch names: source %s: %w", src, err)
		}
		out = append(out, found...)
	}
	return out, nil
}

// remove removes those of names that exist, whatever failed before, and
// joins what could not be removed.
func (s *scratchSet) remove(ctx context.Context, names []source.ScratchName) error {
	if err := source.RefuseForeign(names); err != nil {
		return err
	}
	var errs []error
	for src, group := range bySource(names) {
		if src == "" {
			for _, n := range group {
				if err := os.RemoveAll(n.Name); err != nil {
					errs = append(errs, fmt.Errorf("remove %s: %w", n, err))
				}
			}
			continue
		}
		sc, err := s.get(src)
		if err == nil {
			err = sc.Remove(ctx, group)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src, err))
		}
	}
	return errors.Join(errs...)
}

// bySource groups names by source in the order they come, so the
// directory (source "") goes after the sources' names.
func bySource(names []source.ScratchName) iter.Seq2[string, []source.ScratchName] {
	var order []string
	groups := map[string][]source.ScratchName{}
	for _, n := range names {
		if _, ok := groups[n.Source]; !ok {
			order = append(order, n.Source)
		}
		groups[n.Source] = append(groups[n.Source], n)
	}
	return func(yield func(string, []source.ScratchName) bool) {
		for _, src := range order {
			if !yield(src, groups[src]) {
				return
			}
		}
	}
}

func (s *scratchSet) close() {
	for _, sc := range s.scratch {
		_ = sc.Close()
	}
}
