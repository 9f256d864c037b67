package job

import (
	"context"
	"log/slog"
	"time"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/repository"
)

// PruneOptions are the operator's choices for one prune.
type PruneOptions struct {
	Policy repository.Policy
	// Grace spares parts without a manifest younger than it: a backup
	// may still be writing them.
	Grace    time.Duration
	LockWait time.Duration
	DryRun   bool
	// RepackThreshold rewrites packs whose live chunks fill less than this
	// share of them (0: chunkstore.DefaultRepackThreshold; negative: never).
	RepackThreshold float64
	// Log gets the warning when a dead run's lock is taken over, and the
	// chunk store's prune.
	Log *slog.Logger
}

// Prune applies the retention policy under the repository lock, which it
// releases whatever happened, even after a signal.
func Prune(ctx context.Context, cfg *config.Config, repo *repository.Repository, o PruneOptions) (*repository.PruneResult, error) {
	lock, lctx, err := repo.Lock(ctx, repository.LockOptions{Operation: "prune", Host: cfg.Host, TTL: cfg.Repository.LockTTL, Wait: o.LockWait, Log: o.Log})
	if err != nil {
		return nil, err
	}
	res, err := repo.Prune(lctx, o.Policy, repository.PruneOptions{Grace: o.Grace, DryRun: o.DryRun, RepackThreshold: o.RepackThreshold, Log: o.Log})
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if uerr := lock.Unlock(uctx); err == nil {
		err = uerr
	}
	return res, err
}
