package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// DefaultRepackThreshold: a pack whose live chunks fill less than half of
// it is rewritten by prune.
const DefaultRepackThreshold = 0.5

// LiveSet holds the chunks that some snapshot still needs.
type LiveSet map[ID]struct{}

// AddList adds every chunk that a chunk list names.
func (l LiveSet) AddList(list io.Reader) error {
	return ReadChunkList(list, func(r Ref) error {
		l[r.ID] = struct{}{}
		return nil
	})
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// RepackThreshold is the fraction of a pack that its live chunks must
	// fill for the pack to stay as it is; below it, the live chunks are
	// copied into new packs. 0 never rewrites a pack.
	RepackThreshold float64
	// Grace protects packs that no index names (a running or killed
	// backup's) while they are younger than this.
	Grace time.Duration
	// PackSize is the size new packs are sealed at; 0 is the default.
	PackSize int
	// DryRun plans and reports, and changes nothing.
	DryRun bool
	// Log gets a line per step; nil logs nothing.
	Log *slog.Logger
}

// PruneStats is what Prune did, or would do in a dry run.
type PruneStats struct {
	Packs       int // packs in the repository before
	LiveChunks  int // chunks the new index names
	DeadEntries int // index entries dropped: chunks no snapshot needs, or named twice
	// Packs deleted: holding no live chunk, rewritten, or named by no
	// index (left by interrupted runs) and older than the grace period.
	DeadPacks, RepackedPacks, UnindexedPacks int
	// KeptUnindexed are named by no index but left: younger than the
	// grace period, or some live chunk is named by no index.
	KeptUnindexed int
	// MissingPacks are named by the index but absent; MissingChunks are
	// needed by a snapshot and named by no index. Both mean damage that
	// `verify` reports; prune then deletes no unindexed pack.
	MissingPacks, MissingChunks int
	PacksWritten                int   // new packs holding the copied chunks
	CopiedBytes                 int64 // stored bytes of the chunks copied
	IndexObjects                int   // index objects before
	IndexWritten, IndexDeleted  int
	BytesDeleted, BytesWritten  int64 // estimates in a dry run
	// Retained are objects prune would delete that S3 Object Lock keeps;
	// a later prune deletes them.
	Retained []string
}

// PacksDeleted counts the packs deleted (or to delete).
func (s *PruneStats) PacksDeleted() int { return s.DeadPacks + s.RepackedPacks + s.UnindexedPacks }

// Freed is the net number of bytes the repository shrank by.
func (s *PruneStats) Freed() int64 { return s.BytesDeleted - s.BytesWritten }

// Initialized reports whether the repository has a chunk store.
func Initialized(ctx context.Context, store storage.Store) (bool, error) {
	_, err := store.Stat(ctx, ConfigKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("stat %s: %w", ConfigKey, err)
	}
	return true, nil
}

// Prune removes what no snapshot needs from the chunk store: packs with no
// live chunk, packs named by no index (older than the grace period), and
// the live chunks of mostly dead packs, which it copies into new packs as
// they are stored (no key needed). live must hold every chunk of every
// snapshot listed and of every snapshot that may still be written (parts
// without a manifest inside the grace period). The caller holds the lock.
//
// Crash safety comes from the order, where each step only removes what
// the steps before made redundant: new packs, then the new index (naming
// every live chunk where it is now), then the old index objects, then the
// packs no remaining index names. A kill at any point leaves every live
// chunk named by some index object in a pack that exists; readers take a
// chunk's first location, and every location is intact.
func Prune(ctx context.Context, store storage.Store, live LiveSet, o PruneOptions) (*PruneStats, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	p, err := plan(ctx, store, live, o)
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		return &p.stats, nil
	}
	return &p.stats, p.execute(ctx)
}
