package repository

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/snapshot"
)

// Sweeper is implemented by stores that can hold leftovers of interrupted
// writes which List never shows: the local store's temp files, unfinished
// S3 multipart uploads. A run killed with SIGKILL leaves them behind.
type Sweeper interface {
	// SweepLeftovers removes the leftovers of each key last written
	// before cutoff(key) (with dryRun it only counts them) and returns how
	// many.
	SweepLeftovers(ctx context.Context, cutoff func(key string) time.Time, dryRun bool) (int, error)
}

// lockLeftoverAge is the least age of a lock object's leftover before it
// is swept, whatever the grace: runs waiting for the lock write their lock
// objects while the prune that holds it sweeps, and with a grace of 0 the
// sweep removed such a run's temp file before its rename (the run failed
// with "object not found" instead of waiting). A lock object is written in
// milliseconds, so an hour-old leftover is one.
const lockLeftoverAge = time.Hour

// sweepLeftovers is prune's last step: leftovers older than grace go, like
// parts without a manifest. The caller holds the lock, so no backup of this
// repository is writing data; a run waiting for the lock still writes its
// lock object, which lockLeftoverAge protects.
func (r *Repository) sweepLeftovers(ctx context.Context, grace time.Duration, dryRun bool, res *PruneResult) error {
	sw, ok := r.store.(Sweeper)
	if !ok {
		return nil
	}
	now := time.Now()
	cutoff := func(key string) time.Time {
		if strings.HasPrefix(key, snapshot.LockPrefix) {
			return now.Add(-max(grace, lockLeftoverAge))
		}
		return now.Add(-grace)
	}
	n, err := sw.SweepLeftovers(ctx, cutoff, dryRun)
	if !dryRun {
		res.DeletedKeys += n
	}
	if err != nil {
		return fmt.Errorf("remove leftovers of interrupted writes: %w", err)
	}
	return nil
}
