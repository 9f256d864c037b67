package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/monitor"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// DrillOptions are the operator's choices for one restore drill.
type DrillOptions struct {
	// Snapshot names the snapshot (default latest).
	Snapshot string
	// Target is targets.NAME, whose servers and engine hold the scratch
	// places.
	Target string
	// ScratchDir holds the drill's directory (default state_dir/drill).
	ScratchDir  string
	ToolVersion string
	// Quiet prints nothing on success.
	Quiet bool
	Log   *slog.Logger
	Out   io.Writer
}

// chatter is where the plan and the restorers' summaries go: nowhere
// with Quiet.
func (o DrillOptions) chatter() io.Writer {
	if o.Quiet {
		return io.Discard
	}
	return o.Out
}

// cleanupTimeout bounds the removal of the scratch places after a drill,
// which runs even after SIGTERM.
const cleanupTimeout = 10 * time.Minute

// Drill restores a snapshot into scratch places of its own on a target
// (a database, a ZooKeeper chroot, volumes and a directory, all named
// source.DrillPrefix + the snapshot's short id), verifies every part as a
// restore does, removes everything it created, also after a failure or a
// signal, and records the outcome (status/last-drill.json, metrics). It
// first removes what a killed drill into the same target left, and
// refuses, touching nothing, when a scratch name exists otherwise.
func Drill(ctx context.Context, cfg *config.Config, o DrillOptions) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Snapshot == "" {
		o.Snapshot = "latest"
	}
	if o.Target == "" {
		return source.Usage(errors.New("give the target whose servers hold the drill's scratch places: --target NAME (a targets.NAME of the configuration)"))
	}
	tcfg, _, err := cfg.ForTarget(o.Target)
	if err != nil {
		return err
	}
	if o.ScratchDir == "" {
		o.ScratchDir = filepath.Join(cfg.StateDir, "drill")
	}
	if o.ScratchDir, err = filepath.Abs(o.ScratchDir); err != nil {
		return source.Usage(fmt.Errorf("--scratch-dir: %w", err))
	}
	st := &monitor.DrillStatus{Host: cfg.Host, Target: o.Target, Started: time.Now().UTC(), ToolVersion: o.ToolVersion}
	repo, err := config.OpenRepository(ctx, cfg)
	if err == nil {
		err = drill(ctx, tcfg, repo, o, st)
	}
	failure := ""
	if err != nil {
		err = fmt.Errorf("drill failed: %w", err)
		failure = OneLine(ctx, err)
	}
	// The outcome is recorded even after SIGTERM.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if rerr := recordDrill(cctx, cfg, repo, st, failure, o.Log); rerr != nil && err == nil {
		err = fmt.Errorf("the drill of snapshot %s passed, but recording it failed: %w", st.SnapshotID, rerr)
	}
	return err
}

// drill is the drill from the snapshot to the removal of its scratch
// places; cfg's restore section is the target's.
func drill(ctx context.Context, cfg *config.Config, repo *repository.Repository, o DrillOptions, st *monitor.DrillStatus) (err error) {
	id, err := repo.Resolve(ctx, o.Snapshot)
	if err != nil {
		return err
	}
	m, err := repo.Manifest(ctx, id)
	if err != nil {
		return err
	}
	st.SnapshotID, st.SnapshotEnd = m.ID, m.End
	short := m.ID[strings.LastIndexByte(m.ID, '-')+1:]
	prefix := source.DrillPrefix + short
	o.Log.Info("drill", "snapshot", m.ID, "target", o.Target, "scratch_prefix", prefix)
	set := newScratchSet(cfg, prefix, filepath.Join(o.ScratchDir, prefix), cfg.Host, o.Log, o.chatter())
	defer set.close()
	if st.Leftovers, err = removeLeftovers(ctx, repo.Store(), o.Target, cfg.Host, set, o.Log); err != nil {
		return err
	}
	if err := set.plan(ctx, m); err != nil {
		return err
	}
	names := set.names()
	for _, n := range names {
		st.Scratch = append(st.Scratch, n.String())
	}
	rec := drillRecord{Target: o.Target, SnapshotID: m.ID, Started: st.Started, Scratch: names,
		Holder: repository.CurrentHolder(cfg.Host, cfg.Repository.LockTTL)}
	claim, work, err := claimDrill(ctx, repo.Store(), rec, cfg.Repository.LockTTL, o.Log)
	if err != nil {
		return err
	}
	existing, err := set.existing(work, names)
	if err != nil || len(existing) > 0 {
		rerr := claim.release(context.WithoutCancel(ctx), true) // nothing was created
		if err == nil {
			err = refused(existing)
		}
		return errors.Join(err, rerr)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		cerr := set.remove(cctx, names)
		if cerr != nil {
			st.CleanupError = OneLine(cctx, cerr)
			o.Log.Error("the drill could not remove all its scratch places; the next drill into the target tries again", "error", st.CleanupError)
		} else {
			o.Log.Info("drill scratch places removed", "count", len(names), "drill_duration", time.Since(st.Started).Round(time.Millisecond))
		}
		cerr = errors.Join(cerr, claim.release(cctx, cerr == nil))
		if cerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the drill's scratch places: %w", cerr))
		}
	}()
	if err := os.MkdirAll(o.ScratchDir, 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(set.dir.Name, 0o700); err != nil {
		return fmt.Errorf("create the drill's directory: %w", err)
	}
	return verifyByRestore(work, repo, m, set, o, st)
}

// refused is the error of a drill whose scratch names exist (exit 7).
func refused(existing []source.ScratchName) error {
	var list []string
	for _, n := range existing {
		list = append(list, n.String())
	}
	return fmt.Errorf("%w: the drill's scratch places exist already and are not left over from an earlier drill into this target: %s; nothing was touched: "+
		"remove them if they are yours, or drill another snapshot", restore.ErrTargetNotEmpty, strings.Join(list, ", "))
}

// verifyByRestore restores every part the drill loads into the scratch
// places, each read once and checked (size, sha256) as it is restored,
// prints the verification table, and decodes and checks the parts no
// restorer loads.
func verifyByRestore(ctx context.Context, repo *repository.Repository, m *snapshot.Manifest, set *scratchSet, o DrillOptions, st *monitor.DrillStatus) error {
	restorers, dest := set.restorers()
	out := o.chatter()
	onPlan := func(checked []restore.Checked) {
		fmt.Fprintf(out, "Drill: restore snapshot %s (host %s, %s) into scratch places on target %s\n",
			m.ID, m.Host, m.End.UTC().Format("2006-01-02 15:04 UTC"), o.Target)
		restore.WritePlan(out, checked, restorers, dest)
	}
	var err error
	if len(restorers) > 0 {
		_, err = restore.Run(ctx, repo, m, restorers, restore.Options{Include: set.include, SkipVerify: true, Log: o.Log, OnPlan: onPlan})
	}
	results := restore.Results(restorers)
	for _, r := range results {
		st.Checks = append(st.Checks, monitor.DrillCheck{Source: r.Source, Part: r.Part, What: r.What, Expected: r.Expected, Found: r.Found})
	}
	// A failed drill shows its table even with Quiet: the cron mail then
	// says what did not match.
	if len(results) > 0 && (!o.Quiet || err != nil) {
		fmt.Fprintln(o.Out, "\nVerification (found in the scratch places against the snapshot's manifest):")
		if _, werr := restore.WriteResults(o.Out, results); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("restore of snapshot %s: %w", m.ID, err)
	}
	if len(set.unloaded) > 0 {
		sub := *m
		sub.Parts = set.unloaded
		if _, err := repo.Verify(ctx, &sub, true); err != nil {
			return err
		}
		for _, p := range set.unloaded {
			fmt.Fprintf(out, "%s/%s: not loaded by a restore; decoded and checked (size, sha256): OK\n", p.Source, p.Name)
		}
	}
	fmt.Fprintf(out, "\nDrill passed: snapshot %s restores; %d checks OK. Removing the scratch places.\n", m.ID, len(results))
	return nil
}
