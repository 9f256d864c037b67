// Package restore defines the Restorer contract that every source's loader
// implements and Run, which restores selected parts of one snapshot: check
// every target, verify every selected part, and only then write anything.
// A part is read twice: once to verify it before anything is written, once
// to restore it.
package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// Restore writes parts, the source's selected parts in manifest order,
	// into their targets. It gets them all at once because a source may
	// load them in an order of its own or in parallel (a database's schema
	// before its tables' data, data before views). It reads each part once
	// through open.
	Restore(ctx context.Context, parts []snapshot.Part, open Opener) error
}

// Inspector is a Restorer that reads its parts before anything is written,
// to check more than their bytes (ZooKeeper checks every node against the
// target's limits). Run calls Inspect for every source before it restores
// any. A part read through open to its end and finished is proven intact,
// so Run does not read it again to verify it: the inspection is that
// part's read before writing.
type Inspector interface {
	Inspect(ctx context.Context, parts []snapshot.Part, open Opener) error
}

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
	// SkipVerify skips reading every part once before restoring (parts an
	// Inspector reads are read all the same). Without it a corrupt part is
	// found before anything is written: the sha256 of its stored bytes is
	// compared with the (self-checksummed) manifest.
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
	// written (job prints the plan from it).
	OnPlan func([]Checked)
}

// Run restores the parts of m selected by o.Include using restorers, one
// per source, in the order of restorers.
func Run(ctx context.Context, repo *repository.Repository, m *snapshot.Manifest, restorers []Restorer, o Options) ([]snapshot.Part, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	byName := map[string]Restorer{}
	var order []string
	for _, r := range restorers {
		byName[r.Source()] = r
		order = append(order, r.Source())
	}
	parts, err := Select(m, byName, o.Include)
	if err != nil {
		return nil, err
	}
	parts = InOrder(parts, order)
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
	intact, err := inspect(ctx, repo, parts, restorers)
	if err != nil {
		return nil, fmt.Errorf("nothing was restored: %w", err)
	}
	if unread := slices.DeleteFunc(slices.Clone(parts), intact.has); !o.SkipVerify && len(unread) > 0 {
		start := time.Now()
		sub := *m
		sub.Parts = unread
		var err error
		if o.DeepVerify {
			_, err = repo.Verify(ctx, &sub, true)
		} else {
			err = repo.VerifyStored(ctx, &sub)
		}
		if err != nil {
			return nil, fmt.Errorf("nothing was restored: %w", err)
		}
		log.Info("parts verified", "parts", len(unread), "deep", o.DeepVerify, "duration", time.Since(start).Round(time.Millisecond))
	}
	for _, r := range restorers {
		own := partsOf(parts, r.Source())
		if len(own) == 0 {
			continue
		}
		start := time.Now()
		if err := r.Restore(ctx, own, restoreOpener(repo)); err != nil {
			return nil, fmt.Errorf("restore source %s: %w", r.Source(), err)
		}
		log.Info("source restored", "source", r.Source(), "parts", len(own), "duration", time.Since(start).Round(time.Millisecond))
	}
	return parts, nil
}

// inspect lets every Inspector read its parts and returns the parts that
// were read to their end and found intact.
func inspect(ctx context.Context, repo *repository.Repository, parts []snapshot.Part, restorers []Restorer) (*intactParts, error) {
	intact := &intactParts{keys: map[string]bool{}}
	for _, r := range restorers {
		ins, ok := r.(Inspector)
		own := partsOf(parts, r.Source())
		if !ok || len(own) == 0 {
			continue
		}
		if err := ins.Inspect(ctx, own, intact.opener(repo)); err != nil {
			return nil, fmt.Errorf("source %s: %w", r.Source(), err)
		}
	}
	return intact, nil
}
