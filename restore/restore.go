// Package restore defines the Restorer contract that every source's loader
// implements and Run, which restores selected parts of one snapshot: check
// every target, verify every selected part, and only then write anything.
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// ErrTargetNotEmpty is wrapped by restorers that refuse to overwrite data.
var ErrTargetNotEmpty = errors.New("restore target is not empty")

// Restorer loads the parts of one source.
type Restorer interface {
	Source() string
	// Check fails if part cannot be restored (for example its target holds
	// data and overwriting was not asked for). It must not change anything.
	Check(ctx context.Context, part snapshot.Part) error
	// Restore writes the part's raw stream r into its target.
	Restore(ctx context.Context, part snapshot.Part, r io.Reader) error
}

// Opener opens the raw stream of one part. finish must be called once the
// stream has been consumed: it reads what is left, checks size and sha256
// against the manifest, and releases the stream.
type Opener func(ctx context.Context, p snapshot.Part) (r io.Reader, finish func() error, err error)

// SetRestorer is a Restorer that needs all of its selected parts at once,
// because they must be loaded in an order of its own or in parallel (a
// database's schema before its tables' data, data before views). Run calls
// RestoreSet once per source instead of Restore per part.
type SetRestorer interface {
	Restorer
	RestoreSet(ctx context.Context, parts []snapshot.Part, open Opener) error
}

// Order is the order sources are restored in: files first, then the
// database, ZooKeeper last, since a Zuul that sees its keys may start.
// Sources not listed follow, in manifest order.
var Order = []string{"volumes", "paths", "mariadb", "zookeeper"}

// Result is one line of the verification table: what was counted in the
// target after restoring, against what the manifest recorded.
type Result struct {
	Source, Part string
	What         string // rows of zuul.zuul_build, znodes, files, bytes, …
	Expected     int64
	Found        int64 // -1: could not be counted
}

// OK reports whether the target holds what the snapshot recorded.
func (r Result) OK() bool { return r.Expected == r.Found }

// Reporter is a Restorer that says, after restoring, what it found.
type Reporter interface {
	Results() []Result
}

// Planner is a Restorer that describes in human lines what it would do
// with parts, from the manifest and what its Checks found.
type Planner interface {
	Plan(parts []snapshot.Part) []string
}

// Checked is one selected part and what its restorer's Check said: nil,
// or why the part cannot be restored (restore.ErrTargetNotEmpty when its
// target holds data).
type Checked struct {
	Part snapshot.Part
	Err  error
}

// Options for Run.
type Options struct {
	// Include selects parts by "source" or "source/name"; empty means all
	// parts that have a restorer.
	Include []string
	// SkipVerify skips reading every part once before restoring. Without it
	// a corrupt part is found before anything is written: the sha256 of its
	// stored bytes is compared with the (self-checksummed) manifest.
	SkipVerify bool
	// DeepVerify decodes every part before restoring instead, so that a
	// manifest rewritten consistently by someone who can write to the
	// repository, but whose raw sizes or checksums disagree with its parts
	// (a decompression bomb, say), is also refused before anything is
	// written. It costs a full decode of every part.
	DeepVerify bool
	DryRun     bool
	Log        *slog.Logger
	// OnPlan, if set, gets every selected part in restore order with what
	// its Check said, after all checks and before anything is read or
	// written (the CLI prints the plan from it).
	OnPlan func([]Checked)
}

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

// Run restores the parts of m selected by o.Include using restorers.
func Run(ctx context.Context, repo *repository.Repository, m *snapshot.Manifest, restorers []Restorer, o Options) ([]snapshot.Part, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	byName := map[string]Restorer{}
	for _, r := range restorers {
		byName[r.Source()] = r
	}
	parts, err := Select(m, byName, o.Include)
	if err != nil {
		return nil, err
	}
	parts = InOrder(parts)
	// Every part is checked, not only up to the first refusal, so the
	// operator sees everything that stands in the way at once.
	checked := make([]Checked, len(parts))
	var refused []error
	seen := map[string]bool{} // one unreachable server fails every part alike
	for i, p := range parts {
		checked[i] = Checked{Part: p}
		if err := byName[p.Source].Check(ctx, p); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			checked[i].Err = err
			if !seen[err.Error()] {
				seen[err.Error()] = true
				refused = append(refused, fmt.Errorf("part %s/%s: %w", p.Source, p.Name, err))
			}
		}
	}
	if o.OnPlan != nil {
		o.OnPlan(checked)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("nothing was restored: %w", errors.Join(refused...))
	}
	if o.DryRun {
		return parts, nil
	}
	if !o.SkipVerify {
		start := time.Now()
		sub := *m
		sub.Parts = parts
		var err error
		if o.DeepVerify {
			_, err = repo.Verify(ctx, &sub, true)
		} else {
			err = repo.VerifyStored(ctx, &sub)
		}
		if err != nil {
			return nil, fmt.Errorf("nothing was restored: %w", err)
		}
		log.Info("parts verified", "parts", len(parts), "deep", o.DeepVerify, "duration", time.Since(start).Round(time.Millisecond))
	}
	done := map[string]bool{}
	for _, p := range parts {
		start := time.Now()
		if sr, ok := byName[p.Source].(SetRestorer); ok {
			if done[p.Source] {
				continue
			}
			done[p.Source] = true
			if err := sr.RestoreSet(ctx, partsOf(parts, p.Source), opener(repo)); err != nil {
				return nil, fmt.Errorf("restore source %s: %w", p.Source, err)
			}
			log.Info("source restored", "source", p.Source, "duration", time.Since(start).Round(time.Millisecond))
			continue
		}
		if err := restorePart(ctx, repo, byName[p.Source], p); err != nil {
			return nil, err
		}
		log.Info("part restored", "source", p.Source, "part", p.Name, "raw_bytes", p.RawSize, "duration", time.Since(start).Round(time.Millisecond))
	}
	return parts, nil
}

// InOrder sorts parts by source in restore Order, keeping the manifest
// order within a source.
func InOrder(parts []snapshot.Part) []snapshot.Part {
	out := slices.Clone(parts)
	slices.SortStableFunc(out, func(a, b snapshot.Part) int { return rank(a.Source) - rank(b.Source) })
	return out
}

func rank(source string) int {
	if i := slices.Index(Order, source); i >= 0 {
		return i
	}
	return len(Order)
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

func opener(repo *repository.Repository) Opener {
	return func(ctx context.Context, p snapshot.Part) (io.Reader, func() error, error) {
		dec, closer, err := repo.OpenPart(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		finish := func() error {
			err := dec.Finish()
			closer.Close()
			if err != nil {
				return fmt.Errorf("part %s/%s: the restored data is incomplete or wrong: %w", p.Source, p.Name, err)
			}
			return nil
		}
		return dec, finish, nil
	}
}

func restorePart(ctx context.Context, repo *repository.Repository, r Restorer, p snapshot.Part) error {
	dec, closer, err := repo.OpenPart(ctx, p)
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := r.Restore(ctx, p, dec); err != nil {
		return fmt.Errorf("restore part %s/%s: %w", p.Source, p.Name, err)
	}
	if err := dec.Finish(); err != nil {
		return fmt.Errorf("restore part %s/%s: the restored data is incomplete or wrong: %w", p.Source, p.Name, err)
	}
	return nil
}
