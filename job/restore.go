package job

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// RestoreOptions are the operator's choices for one restore.
type RestoreOptions struct {
	// Snapshot names the snapshot: an id, a unique id prefix, latest or
	// latest~N.
	Snapshot string
	// Target is targets.NAME; empty means the restore section.
	Target string
	// Include selects parts by "source" or "source/part"; empty: all.
	Include []string
	source.RestoreChoices
	SkipVerify, DeepVerify, DryRun bool
	// Quiet leaves out the plan, the verification table (unless the
	// restore fails) and the next steps.
	Quiet bool
	Log   *slog.Logger
	// Out receives the plan, the restorers' summaries, the verification
	// table and the next steps.
	Out io.Writer
}

// Restore restores one snapshot into the chosen target: it builds a
// restorer per source the selection needs, prints the plan, lets
// restore.Run check, verify and write, and prints what it found and what
// the operator does next.
func Restore(ctx context.Context, cfg *config.Config, o RestoreOptions) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	var target *config.Target
	if o.Target != "" {
		var err error
		if cfg, target, err = cfg.ForTarget(o.Target); err != nil {
			if strings.ContainsRune(o.Target, '/') {
				err = fmt.Errorf("%w (--target names a target of the configuration; for a directory use --paths-dir DIR)", err)
			}
			return err
		}
	}
	repo, err := config.OpenRepository(ctx, cfg)
	if err != nil {
		return err
	}
	id, err := repo.Resolve(ctx, o.Snapshot)
	if err != nil {
		return err
	}
	m, err := repo.Manifest(ctx, id)
	if err != nil {
		return err
	}
	out := o.Out
	if o.Quiet {
		out = io.Discard
	}
	s, err := setUp(cfg, target, m, o, out)
	if err != nil {
		return err
	}
	defer s.close()
	onPlan := func(checked []restore.Checked) {
		if o.DryRun || !o.Quiet {
			fmt.Fprintln(o.Out, planTitle(m, o.Target, s.profile, o.DryRun))
			restore.WritePlan(o.Out, checked, s.restorers, s.destinations)
		}
	}
	parts, err := restore.Run(ctx, repo, m, s.restorers, restore.Options{
		Include: o.Include, SkipVerify: o.SkipVerify, DeepVerify: o.DeepVerify, DryRun: o.DryRun, Log: o.Log, OnPlan: onPlan,
	})
	results := restore.Results(s.restorers)
	if len(results) > 0 && (!o.Quiet || err != nil) {
		fmt.Fprintln(o.Out, "\nVerification (found in the target against the snapshot's manifest):")
		if _, werr := restore.WriteResults(o.Out, results); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("restore of snapshot %s failed: %w", m.ID, err)
	}
	if o.DryRun {
		fmt.Fprintln(o.Out, "\ndry run: nothing was written")
		return nil
	}
	if !o.Quiet {
		fmt.Fprintln(o.Out, "\nNext steps:")
		for _, l := range s.nextSteps(parts) {
			fmt.Fprintln(o.Out, "  - "+l)
		}
	}
	return nil
}

// restoreSetup is what the options and the configuration resolve to.
type restoreSetup struct {
	restorers    []restore.Restorer // in restore order
	destinations map[string]string  // source → where it goes, for the plan
	profile      string             // the target's, or the one restorer's that has one
	dev          bool               // some restorer applies the dev profile
}

// setUp builds one restorer per source the selection needs, in restore
// order.
func setUp(cfg *config.Config, target *config.Target, m *snapshot.Manifest, o RestoreOptions, out io.Writer) (*restoreSetup, error) {
	s := &restoreSetup{destinations: map[string]string{}, profile: config.ProfileDR}
	if target != nil {
		s.profile = target.ProfileName()
	}
	selected := map[string]bool{}
	for _, p := range m.Parts {
		if restore.Included(o.Include, p) {
			selected[p.Source] = true
		}
	}
	if o.Wipe {
		var wipers []string
		wiped := false
		for _, d := range inRestoreOrder() {
			if d.Wipes {
				wipers = append(wipers, d.Name)
				wiped = wiped || selected[d.Name]
			}
		}
		if !wiped {
			return nil, source.Usage(fmt.Errorf("--wipe applies to %s parts, and this restore has none", strings.Join(wipers, " and ")))
		}
	}
	request := source.RestoreRequest{Config: cfg, Target: target, RestoreChoices: o.RestoreChoices, Log: o.Log, Out: out}
	for _, d := range inRestoreOrder() {
		if !selected[d.Name] || d.Restorer == nil {
			continue
		}
		r, err := d.Restorer(request)
		if err != nil {
			s.close()
			return nil, err
		}
		s.restorers = append(s.restorers, r.Restorer)
		s.destinations[d.Name] = r.Destination
		if r.Profile != "" {
			if target == nil {
				s.profile = r.Profile
			}
			s.dev = s.dev || r.Profile == config.ProfileDev
		}
	}
	return s, nil
}

// close releases the restorers' connections; nothing is left to report.
func (s *restoreSetup) close() {
	for _, r := range s.restorers {
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	}
}
