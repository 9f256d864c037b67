package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/job"
	"github.com/zuulstate/zuulstate/repository"
)

func newPruneCommand(a *app) *cobra.Command {
	var p repository.Policy
	var dryRun bool
	var grace, lockWait time.Duration
	var repackPercent int
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete snapshots outside the retention policy and leftovers of interrupted runs",
		Long: `Keeps the snapshots the policy selects (flags override retention in the
config) and deletes the others, manifest first. The newest snapshot is never
deleted. Parts without a manifest (from interrupted backups) are deleted once
they are older than the grace period.

Then, for deduplicated (format 3) snapshots, deletes the packs that hold no
chunk a remaining snapshot needs, and rewrites the packs whose live chunks
fill less than --repack-threshold percent of them: their live chunks are
copied as stored (no private key needed) into new packs. A new index is
written before the old one and the packs are deleted, so a prune killed at
any point loses nothing a snapshot needs; the next prune finishes the job.`,
		Example: "  zuulstate prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, cfg, err := a.repository(ctx)
			if err != nil {
				return err
			}
			r := cfg.Retention
			f := cmd.Flags()
			if !f.Changed("keep-last") && !f.Changed("keep-hourly") && !f.Changed("keep-daily") &&
				!f.Changed("keep-weekly") && !f.Changed("keep-monthly") && !f.Changed("keep-yearly") {
				p = repository.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly, Monthly: r.KeepMonthly, Yearly: r.KeepYearly}
			}
			if !f.Changed("orphan-grace") {
				grace = r.OrphanGrace
			}
			if p.Empty() {
				return usageError{fmt.Errorf("no retention policy: give --keep-* flags or set retention in the config")}
			}
			if repackPercent < 0 || repackPercent > 100 {
				return usageError{fmt.Errorf("--repack-threshold %d: want a percentage from 0 (never rewrite packs) to 100", repackPercent)}
			}
			threshold := float64(repackPercent) / 100
			if repackPercent == 0 {
				threshold = -1
			}
			if !f.Changed("lock-wait") {
				lockWait = cfg.Repository.LockWait
			}
			res, err := job.Prune(ctx, cfg, repo, job.PruneOptions{Policy: p, Grace: grace, LockWait: lockWait, DryRun: dryRun,
				RepackThreshold: threshold, Log: a.log})
			a.printPrune(res, dryRun)
			if res != nil && res.Chunks != nil {
				a.logChunkPrune(res.Chunks, dryRun)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Last, "keep-last", 0, "keep the newest N snapshots")
	f.IntVar(&p.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last N hours")
	f.IntVar(&p.Daily, "keep-daily", 0, "keep the newest snapshot of each of the last N days")
	f.IntVar(&p.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N weeks")
	f.IntVar(&p.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last N months")
	f.IntVar(&p.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last N years")
	f.BoolVar(&dryRun, "dry-run", false, "only print what would be deleted")
	f.DurationVar(&grace, "orphan-grace", 24*time.Hour, "delete parts without a manifest only when older than this")
	f.DurationVar(&lockWait, "lock-wait", 0, "wait this long for a locked repository instead of failing")
	f.IntVar(&repackPercent, "repack-threshold", int(chunkstore.DefaultRepackThreshold*100), "rewrite packs whose live chunks fill less than this percentage of them (0: never)")
	return cmd
}

func (a *app) printPrune(res *repository.PruneResult, dryRun bool) {
	if res == nil || a.quiet {
		return
	}
	verb := "delete"
	if dryRun {
		verb = "would delete"
	}
	retained := map[string]repository.Retained{}
	for _, r := range res.Retained {
		retained[r.ID] = r
	}
	for _, d := range res.Decisions {
		switch r, ok := retained[d.ID]; {
		case d.Keep:
			fmt.Fprintf(a.stdout, "keep    %s  (%s)\n", d.ID, strings.Join(d.Reasons, ", "))
		case ok && !r.Orphan:
			fmt.Fprintf(a.stdout, "retain  %s  (object lock%s: deleted by a later prune)\n", d.ID, until(r))
		default:
			fmt.Fprintf(a.stdout, "%s  %s\n", verb, d.ID)
		}
	}
	for _, r := range res.Retained {
		if r.Orphan {
			fmt.Fprintf(a.stdout, "retain  parts of snapshot %s without manifest (object lock%s)\n", r.ID, until(r))
		}
	}
	if len(res.Retained) > 0 {
		a.log.Warn("object lock retention keeps snapshots the policy would delete; prune again after it ends", "retained", len(res.Retained))
		fmt.Fprintf(a.stdout, "%d snapshot(s) not deleted yet: retained by object lock\n", len(res.Retained))
	}
	for _, id := range res.OrphanIDs {
		fmt.Fprintf(a.stdout, "%s  parts of interrupted snapshot %s\n", verb, id)
	}
	for _, id := range res.SkippedOrphan {
		fmt.Fprintf(a.stdout, "skip    parts of snapshot %s without manifest: younger than the grace period\n", id)
	}
	if res.Chunks != nil {
		a.printChunkPrune(res.Chunks, dryRun)
	}
}

func until(r repository.Retained) string {
	if r.Until.IsZero() {
		return ""
	}
	return " until " + r.Until.UTC().Format(time.RFC3339)
}

// printChunkPrune reports what prune did to the chunk store, in lines a
// script can pick out by their first word.
func (a *app) printChunkPrune(s *chunkstore.PruneStats, dryRun bool) {
	would := map[bool]string{true: "would ", false: ""}[dryRun]
	fmt.Fprintf(a.stdout, "packs   %d before: %sdelete %d with no live chunk, %srewrite %d mostly dead (%s of live chunks copied into %d new), %sdelete %d left by interrupted runs\n",
		s.Packs, would, s.DeadPacks, would, s.RepackedPacks, units.Bytes(s.CopiedBytes), s.PacksWritten, would, s.UnindexedPacks)
	if s.IndexWritten > 0 || s.IndexDeleted > 0 {
		fmt.Fprintf(a.stdout, "index   %d objects before: %sreplace %d with %d (%d live chunks)\n", s.IndexObjects, would, s.IndexDeleted, s.IndexWritten, s.LiveChunks)
	}
	if s.KeptUnindexed > 0 {
		fmt.Fprintf(a.stdout, "skip    %d packs no index names: younger than the grace period, or a snapshot's chunk is missing from the index\n", s.KeptUnindexed)
	}
	if n := len(s.Retained); n > 0 {
		fmt.Fprintf(a.stdout, "retain  %d pack and index objects (object lock): deleted by a later prune\n", n)
	}
	verb := "freed  "
	if dryRun {
		verb = "would free about"
	}
	fmt.Fprintf(a.stdout, "%s %s: %d objects deleted (%s), %d written (%s)\n", verb, units.Bytes(max(s.Freed(), 0)),
		s.PacksDeleted()+s.IndexDeleted, units.Bytes(s.BytesDeleted), s.PacksWritten+s.IndexWritten, units.Bytes(s.BytesWritten))
}

// logChunkPrune logs the chunk store's prune, also with --quiet when the
// repository turned out damaged.
func (a *app) logChunkPrune(s *chunkstore.PruneStats, dryRun bool) {
	if s.MissingPacks > 0 || s.MissingChunks > 0 {
		a.log.Warn("the repository is damaged: run 'zuulstate verify --all'", "missing_packs", s.MissingPacks, "chunks_in_no_index", s.MissingChunks)
	}
	a.log.Info("chunk store pruned", "dry_run", dryRun, "packs_deleted", s.PacksDeleted(), "packs_rewritten", s.RepackedPacks,
		"packs_written", s.PacksWritten, "index_objects_deleted", s.IndexDeleted, "index_objects_written", s.IndexWritten,
		"bytes_deleted", s.BytesDeleted, "bytes_written", s.BytesWritten, "bytes_freed", s.Freed())
}
