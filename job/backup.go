package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/internal/hooks"
	"github.com/zuulstate/zuulstate/monitor"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// BackupOptions are the operator's choices for one backup.
type BackupOptions struct {
	// Tags are added to the configured ones.
	Tags []string
	// LockWait is how long to wait for a locked repository; negative:
	// repository.lock_wait.
	LockWait time.Duration
	// WithGrants also dumps users and grants (sources.mariadb).
	WithGrants bool
	// Prune applies the configured retention after the snapshot.
	Prune bool
	// Concurrency is how many sources run at once; 0: all.
	Concurrency int
	// ForceRead reads every file, even those unchanged since this host's
	// last snapshot of the part.
	ForceRead   bool
	ToolVersion string
	// Environ is the environment the hooks run in.
	Environ []string
	Log     *slog.Logger
	// ShowProgress, when set, is called as the snapshot starts with the
	// progress the run updates; the function it returns is called when
	// the snapshot ends (the CLI draws a progress line meanwhile).
	ShowProgress func(*backup.Progress) (stop func())
}

// Backup is the whole backup job: checks that change nothing, pre hooks,
// the snapshot (and prune), post hooks, then the record of the run and the
// metrics, which are written whatever happened before. It returns the
// manifest whenever the snapshot was written, even if something after it
// failed.
func Backup(ctx context.Context, cfg *config.Config, o BackupOptions) (*snapshot.Manifest, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.WithGrants {
		if cfg.Sources.MariaDB == nil {
			return nil, source.Usage(errors.New("--with-grants needs sources.mariadb in the configuration"))
		}
		cfg.Sources.MariaDB.WithGrants = true
	}
	var prune *backup.PruneOptions
	if o.Prune {
		r := cfg.Retention
		p := repository.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly, Monthly: r.KeepMonthly, Yearly: r.KeepYearly}
		if p.Empty() {
			return nil, source.Usage(errors.New("--prune needs a retention policy: set retention.keep_* in the config"))
		}
		prune = &backup.PruneOptions{Policy: p, Grace: r.OrphanGrace}
	}
	sources, err := snapshotters(cfg, o.Log)
	if err != nil {
		return nil, err
	}
	if o.LockWait < 0 {
		o.LockWait = cfg.Repository.LockWait
	}

	st := &monitor.Status{Host: cfg.Host, Started: time.Now().UTC(), ToolVersion: o.ToolVersion, Snapshots: -1}
	progress := &backup.Progress{}
	var m *snapshot.Manifest
	cfg.Repository.ForceRead = o.ForceRead
	repo, err := config.OpenRepository(ctx, cfg)
	if err == nil {
		err = hookRunner("pre", o).Run(ctx, hookCommands(cfg.Hooks.Pre), nil)
	}
	if err == nil {
		stop := func() {}
		if o.ShowProgress != nil {
			stop = o.ShowProgress(progress)
		}
		m, err = backup.Run(ctx, repo, sources, backup.Options{
			Info:        repository.SnapshotInfo{ToolVersion: o.ToolVersion, Host: cfg.Host, Tags: append(cfg.Tags, o.Tags...)},
			Lock:        repository.LockOptions{Host: cfg.Host, TTL: cfg.Repository.LockTTL, Wait: o.LockWait, Log: o.Log},
			Log:         o.Log,
			Concurrency: o.Concurrency,
			After:       runAlone(cfg),
			Progress:    progress,
			Prune:       prune,
		})
		stop()
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
	err = errors.Join(err, hookRunner("post", o).RunAll(cctx, hookCommands(cfg.Hooks.Post), postHookEnv(st.SnapshotID, err)))
	if rerr := recordRun(cctx, cfg, repo, st, progress, err, o.Log); rerr != nil && err == nil {
		err = fmt.Errorf("snapshot %s written, but reporting the run failed: %w", m.ID, rerr)
	}
	return m, err
}

func hookRunner(kind string, o BackupOptions) hooks.Runner {
	return hooks.Runner{Kind: kind, Log: o.Log, Env: o.Environ}
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
		env["ZUULSTATE_ERROR"] = OneLine(context.Background(), err)
	}
	return env
}

// recordRun writes the status object and the metrics and returns what
// failed: monitoring that silently stops updating is how a broken backup
// goes unnoticed, so it fails an otherwise good run; after a failed run it
// is only logged, so it cannot hide the backup's own error.
func recordRun(ctx context.Context, cfg *config.Config, repo *repository.Repository, st *monitor.Status, p *backup.Progress, runErr error, log *slog.Logger) error {
	var errs []error
	st.Finished = time.Now().UTC()
	st.Result = monitor.ResultSuccess
	if runErr != nil {
		st.Result, st.Error = monitor.ResultFailure, OneLine(context.Background(), runErr)
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
			log.Error("could not record the run in the repository; 'zuulstate check' will not see it", "error", err)
			errs = append(errs, err)
		}
	}
	reg := monitor.Registry(st)
	if path := cfg.Metrics.Textfile; path != "" {
		if err := monitor.WriteTextfile(path, reg); err != nil {
			log.Error("could not write the metrics", "error", err)
			errs = append(errs, err)
		}
	}
	if pg := cfg.Metrics.Pushgateway; pg != nil {
		err := monitor.Push(ctx, monitor.PushOptions{URL: pg.URL, Job: pg.Job, Instance: cfg.Host,
			Username: pg.Username, Password: pg.Password.Reveal(), CAFile: pg.CAFile, Timeout: pg.Timeout}, reg)
		if err != nil {
			log.Error("could not push the metrics", "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
