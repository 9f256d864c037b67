package repository

import (
	"context"
	"fmt"
	"time"
)

// Sweeper is implemented by stores that can hold leftovers of interrupted
// writes which List never shows: the local store's temp files, unfinished
// S3 multipart uploads. A run killed with SIGKILL leaves them behind.
type Sweeper interface {
	// SweepLeftovers removes the leftovers below prefix last written
	// before cutoff (with dryRun it only counts them) and returns how many.
	SweepLeftovers(ctx context.Context, prefix string, cutoff time.Time, dryRun bool) (int, error)
}

// sweepLeftovers is prune's last step: leftovers older than grace go, like
// parts without a manifest. The caller holds the lock, so no backup of this
// repository is writing; grace still protects a backup that is waiting
// for the lock and writing its lock object.
func (r *Repository) sweepLeftovers(ctx context.Context, grace time.Duration, dryRun bool, res *PruneResult) error {
	sw, ok := r.store.(Sweeper)
	if !ok {
		return nil
	}
	n, err := sw.SweepLeftovers(ctx, "", time.Now().Add(-grace), dryRun)
	if !dryRun {
		res.DeletedKeys += n
	}
	if err != nil {
		return fmt.Errorf("remove leftovers of interrupted writes: %w", err)
	}
	return nil
}
