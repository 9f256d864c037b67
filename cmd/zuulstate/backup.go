package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/internal/hooks"
	"github.com/zuulstate/zuulstate/monitor"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

type backupFlags struct {
	tags        []string
	lockWait    time.Duration
	withGrants  bool
	prune       bool
	concurrency int
	forceRead   bool
}

func newBackupCommand(a *app) *cobra.Command {
	var f backupFlags
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write one snapshot of every configured source",
		Long: `Runs every configured source into one new snapshot, the sources at the same
time (a volumes source that stops containers runs after the others). The
snapshot exists only once its manifest is written, after every part was
stored; a failed or interrupted run deletes its parts, writes no manifest
and exits non-zero with one line naming the failed source.

Around the run: hooks.pre commands (a failure aborts), hooks.post commands
(always, with ZUULSTATE_RESULT and ZUULSTATE_SNAPSHOT_ID), the record of
the run in the repository (status/last-run.json, read by 'zuulstate check')
and the metrics configured under metrics:. With --quiet a successful run
prints nothing at all. See docs/OPERATIONS.md.`,
		Example: `  zuulstate backup --config /etc/zuulstate/zuulstate.yaml --tag nightly --prune --quiet
  zuulstate backup --with-grants --tag before-upgrade`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("lock-wait") {
				f.lockWait = -1
			}
			return a.runBackup(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.tags, "tag", nil, "tag the snapshot (repeatable)")
	fl.DurationVar(&f.lockWait, "lock-wait", 0, "wait this long for a locked repository instead of failing (default: repository.lock_wait)")
	fl.BoolVar(&f.withGrants, "with-grants", false, "also store the users and grants that apply to the dumped databases (mariadb; same as with_grants: true)")
	fl.BoolVar(&f.prune, "prune", false, "after a successful backup, delete what the configured retention does not keep (under the same lock)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "sources run at once (0: all; 1: one after the other)")
	fl.BoolVar(&f.forceRead, "force-read", false, "read every file, even those unchanged since this host's last snapshot (size, mtime, ctime, inode, mode)")
	return cmd
}

// runBackup is the whole job: checks that change nothing, pre hooks, the
// snapshot (and prune), post hooks, then the record of the run and the
// metrics, which are written whatever happened before.
func (a *app) runBackup(ctx context.Context, f backupFlags) error {
	for _, t := range f.tags {
		if err := snapshot.CheckName("--tag", t); err != nil {
			return usageError{err}
		}
	}
	if f.concurrency < 0 {
		return usageError{fmt.Errorf("--concurrency %d: use 0 (all sources at once) or more", f.concurrency)}
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if f.withGrants {
		if cfg.Sources.MariaDB == nil {
			return usageError{errors.New("--with-grants needs sources.mariadb in the configuration")}
		}
		cfg.Sources.MariaDB.WithGrants = true
	}
	var prune *backup.PruneOptions
	if f.prune {
		r := cfg.Retention
		p := repository.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly, Monthly: r.KeepMonthly, Yearly: r.KeepYearly}
		if p.Empty() {
			return usageError{errors.New("--prune needs a retention policy: set retention.keep_* in the config")}
		}
		prune = &backup.PruneOptions{Policy: p, Grace: r.OrphanGrace}
	}
	sources, err := snapshotters(cfg, a.log)
	if err != nil {
		return err
	}
	if f.lockWait < 0 {
		f.lockWait = cfg.Repository.LockWait
	}

	st := &monitor.Status{Host: cfg.Host, Started: time.Now().UTC(), ToolVersion: toolVersion(), Snapshots: -1}
	progress := &backup.Progress{}
	var m *snapshot.Manifest
	cfg.Repository.ForceRead = f.forceRead
	repo, err := config.OpenRepository(ctx, cfg)
	if err == nil {
		repo, err = armCrashpoint(repo)
	}
	if err == nil {
		err = a.hookRunner("pre").Run(ctx, hookCommands(cfg.Hooks.Pre), nil)
	}
	if err == nil {
		stopProgress := a.showProgress(progress)
		m, err = backup.Run(ctx, repo, sources, backup.Options{
			Info:        repository.SnapshotInfo{ToolVersion: toolVersion(), Host: cfg.Host, Tags: append(cfg.Tags, f.tags...)},
			Lock:        repository.LockOptions{Host: cfg.Host, TTL: cfg.Repository.LockTTL, Wait: f.lockWait},
			Log:         a.log,
			Concurrency: f.concurrency,
			After:       runAfter(cfg),
			Progress:    progress,
			Prune:       prune,
		})
		stopProgress()
	}
	if err != nil {
		err = fmt.Errorf("backup failed: %w", err)
		var pe *backup.PruneError
		if errors.As(err, &pe) {
			err = pe // "snapshot … written, but prune failed: …" says it all
		}
	}
	if m != nil {
		st.SnapshotID = m.ID
	}
	// Cleanup and reporting must happen even after SIGTERM.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	err = errors.Join(err, a.hookRunner("post").RunAll(cctx, hookCommands(cfg.Hooks.Post), postHookEnv(st.SnapshotID, err)))
	if rerr := a.recordRun(cctx, cfg, repo, st, progress, err); rerr != nil && err == nil {
		err = fmt.Errorf("snapshot %s written, but reporting the run failed: %w", m.ID, rerr)
	}
	if m != nil && !a.quiet {
		fmt.Fprintln(a.stdout, m.ID)
	}
	return err
}

// runAfter keeps a volumes source that stops containers (stop: true) from
// overlapping the logical dumps: stopping zuul_mariadb or zuul_zookeeper
// for a cold copy would break a dump of the same server. The other
// sources read different things and run together.
func runAfter(cfg *config.Config) []string {
	v := cfg.Sources.Volumes
	if v == nil {
		return nil
	}
	for _, it := range v.Volumes {
		if it.Stop {
			return []string{"volumes"}
		}
	}
	for _, it := range v.Containers {
		if it.Stop {
			return []string{"volumes"}
		}
	}
	return nil
}

func (a *app) hookRunner(kind string) hooks.Runner {
	return hooks.Runner{Kind: kind, Log: a.log, Env: os.Environ()}
}

func hookCommands(hs []config.Hook) []hooks.Command {
	out := make([]hooks.Command, 0, len(hs))
	for _, h := range hs {
		out = append(out, hooks.Command{Argv: h.Command, Timeout: h.Timeout})
	}
	return out
}

func postHookEnv(id string, err error) map[string]string {
	env := map[string]string{"ZUULSTATE_RESULT": monitor.ResultSuccess, "ZUULSTATE_SNAPSHOT_ID": id}
	if err != nil {
		env["ZUULSTATE_RESULT"] = monitor.ResultFailure
		env["ZUULSTATE_ERROR"] = oneLine(context.Background(), err)
	}
	return env
}

// recordRun writes the status object and the metrics and returns what
// failed: monitoring that silently stops updating is how a broken backup
// goes unnoticed, so it fails an otherwise good run; after a failed run it
// is only logged, so it cannot hide the backup's own error.
func (a *app) recordRun(ctx context.Context, cfg *config.Config, repo *repository.Repository, st *monitor.Status, p *backup.Progress, runErr error) error {
	var errs []error
	st.Finished = time.Now().UTC()
	st.Result = monitor.ResultSuccess
	if runErr != nil {
		st.Result, st.Error = monitor.ResultFailure, oneLine(context.Background(), runErr)
	}
	for _, s := range p.Sources() {
		st.Sources = append(st.Sources, monitor.SourceStatus{Source: s.Source, OK: !s.Running && s.Err == nil,
			Seconds: s.Duration.Seconds(), Parts: s.Parts, RawBytes: s.RawBytes, StoredBytes: s.StoredBytes})
	}
	if repo != nil {
		if ids, err := repo.IDs(ctx); err == nil {
			st.Snapshots = len(ids)
		}
		if err := monitor.WriteStatus(ctx, repo.Store(), st); err != nil {
			a.log.Error("could not record the run in the repository; 'zuulstate check' will not see it", "error", err)
			errs = append(errs, err)
		}
	}
	reg := monitor.Registry(st)
	if path := cfg.Metrics.Textfile; path != "" {
		if err := monitor.WriteTextfile(path, reg); err != nil {
			a.log.Error("could not write the metrics", "error", err)
			errs = append(errs, err)
		}
	}
	if pg := cfg.Metrics.Pushgateway; pg != nil {
		err := monitor.Push(ctx, monitor.PushOptions{URL: pg.URL, Job: pg.Job, Instance: cfg.Host,
			Username: pg.Username, Password: pg.Password.Reveal(), CAFile: pg.CAFile, Timeout: pg.Timeout}, reg)
		if err != nil {
			a.log.Error("could not push the metrics", "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
