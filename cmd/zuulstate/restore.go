package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	rzookeeper "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
)

// restoreFlags are the restore command's options.
type restoreFlags struct {
	target          string // targets.NAME; empty: the restore section
	pathsDir        string
	original, force bool
	dryRun, skipVfy bool
	deepVfy         bool
	withGrants      bool
	only            []string
	include, dbMap  []string
	// volumes
	volumeMap, bindMap []string
	allowDevices       bool
	// zookeeper
	wipe bool
}

func newRestoreCommand(a *app) *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore ID|latest [--target NAME] [--only SOURCE[,SOURCE]] [--dry-run]",
		Short: "Restore a snapshot into the configured or a named target",
		Long: `Restores the parts of a snapshot into a target: the restore section of the
configuration, or targets.NAME with --target NAME (another MariaDB, ZooKeeper
and Docker engine, with database, volume and bind path maps and a profile).
See docs/RESTORE.md.

First every target is checked and a plan is printed: per source where it goes
and what happens there, and every part that is refused (a non-empty target
without --force) with the reason. --dry-run stops after the plan (exit 0, or
7 when something would be refused). Then every selected part is read back and
verified (sha256) before anything is written, so a corrupt snapshot changes
nothing. Sources are restored in this order: volumes and paths, then mariadb,
then zookeeper (once Zuul sees its keys it may start). Afterwards a
verification table compares what was found in the targets (files, bytes,
rows, znodes) with the manifest, followed by the next steps.

paths parts go to DIR/<part name> (--paths-dir DIR or the target's
paths.dir), or back where they were taken from (--original or
paths.original).

mariadb: each database is created (renamed with db_map / --db-map), its
tables loaded in parallel, then views, triggers, routines and events. A
database that exists and is not empty is refused unless --force (drop it).

volumes: each volume is created with its recorded driver, options and labels
(renamed with volume_map / --volume-map), each bind path is created (moved
with bind_map / --bind-map). A non-empty target is refused unless --force
(its content is replaced once the archive is extracted).

zookeeper: the tree part is restored (nodes, ACLs, container/TTL kinds,
sequence counters) and read back. An existing target subtree is refused
unless --force (merge) or --wipe (delete it first). Profile dev (a target's
profile, or zookeeper.profile) restores only /keystorage and /keystorage-oidc
plus what zookeeper.include names; neither profile restores Zuul's runtime
state /zuul unless zookeeper.include names it.`,
		Example: `  zuulstate restore latest --target dev --dry-run
  zuulstate restore latest --target dev
  zuulstate restore latest --target dev --only mariadb,zookeeper
  zuulstate restore latest --paths-dir /srv/restore
  zuulstate restore 20261125T211304Z-3fa1c2d9 --include paths/certs --original --force
  zuulstate restore latest --include volumes --volume-map log_server=dev_log_server --bind-map /opt/zuul=/srv/dev/zuul
  zuulstate restore latest --include zookeeper --wipe --dry-run`,
		Args: exactlyOneArg("snapshot id or 'latest'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.pathsDir != "" && f.original {
				return usageError{errors.New("give at most one of --paths-dir DIR or --original")}
			}
			if f.pathsDir != "" && !filepath.IsAbs(f.pathsDir) {
				abs, err := filepath.Abs(f.pathsDir)
				if err != nil {
					return usageError{fmt.Errorf("--paths-dir %q: %w", f.pathsDir, err)}
				}
				f.pathsDir = abs
			}
			include, err := f.selection()
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			var tgt *config.Target
			if f.target != "" {
				if cfg, tgt, err = cfg.ForTarget(f.target); err != nil {
					if strings.ContainsRune(f.target, '/') {
						err = fmt.Errorf("%w (--target names a target of the configuration; for a directory use --paths-dir DIR)", err)
					}
					return usageError{err}
				}
			}
			ctx := cmd.Context()
			m, repo, err := a.snapshot(ctx, args[0])
			if err != nil {
				return err
			}
			s, err := f.setup(a, cfg, tgt, m, include)
			if err != nil {
				return err
			}
			defer func() {
				for _, r := range s.restorers {
					if c, ok := r.(io.Closer); ok {
						_ = c.Close() // connection pools; nothing left to report
					}
				}
			}()
			showPlan := f.dryRun || !a.quiet
			onPlan := func(checked []restore.Checked) {
				if !showPlan {
					return
				}
				fmt.Fprintln(a.stdout, planTitle(m, f.target, s.profile, f.dryRun))
				restore.WritePlan(a.stdout, checked, s.restorers, s.dest)
			}
			parts, err := restore.Run(ctx, repo, m, s.restorers, restore.Options{
				Include: include, SkipVerify: f.skipVfy, DeepVerify: f.deepVfy, DryRun: f.dryRun, Log: a.log, OnPlan: onPlan,
			})
			results := restore.Results(s.restorers)
			if len(results) > 0 && (!a.quiet || err != nil) {
				fmt.Fprintln(a.stdout, "\nVerification (found in the target against the snapshot's manifest):")
				if _, werr := restore.WriteResults(a.stdout, results); werr != nil {
					return werr
				}
			}
			if err != nil {
				return fmt.Errorf("restore of snapshot %s failed: %w", m.ID, err)
			}
			if f.dryRun {
				fmt.Fprintln(a.stdout, "\ndry run: nothing was written")
				return nil
			}
			if !a.quiet {
				fmt.Fprintln(a.stdout, "\nNext steps:")
				for _, l := range nextSteps(parts, s) {
					fmt.Fprintln(a.stdout, "  - "+l)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "restore into targets.NAME of the configuration (default: the restore section)")
	fl.StringVar(&f.pathsDir, "paths-dir", "", "directory that receives one subdirectory per paths part (overrides the target's paths)")
	fl.BoolVar(&f.original, "original", false, "restore paths parts to the directories they were taken from")
	fl.BoolVar(&f.force, "force", false, "restore into non-empty targets, replacing files and dropping databases")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check the targets, print the plan and stop")
	fl.BoolVar(&f.skipVfy, "skip-verify", false, "do not read every part once before writing (faster, but a corrupt part is found only midway)")
	fl.BoolVar(&f.deepVfy, "deep-verify", false, "decode every part before writing, not only re-hash its stored bytes (also refuses a consistently forged manifest up front)")
	cmd.MarkFlagsMutuallyExclusive("skip-verify", "deep-verify")
	fl.BoolVar(&f.withGrants, "with-grants", false, "also create the users and roles stored with mariadb parts, with their grants")
	fl.StringSliceVar(&f.only, "only", nil, "restore only these sources: paths, volumes, mariadb, zookeeper (comma-separated)")
	fl.StringArrayVar(&f.include, "include", nil, "restore only SOURCE or SOURCE/PART (repeatable; the finer form of --only)")
	fl.StringArrayVar(&f.dbMap, "db-map", nil, "restore database SRC as DST (repeatable; overrides the target's mariadb.db_map)")
	fl.StringArrayVar(&f.volumeMap, "volume-map", nil, "restore Docker volume SRC as DST (repeatable; adds to the target's volumes.volume_map)")
	fl.StringArrayVar(&f.bindMap, "bind-map", nil, "restore bind paths under SRC below DST (repeatable; adds to the target's volumes.bind_map)")
	fl.BoolVar(&f.allowDevices, "allow-devices", false, "create device nodes found in volumes parts (refused otherwise)")
	fl.BoolVar(&f.wipe, "wipe", false, "zookeeper: delete the target subtrees before restoring them")
	return cmd
}

// knownSources are the sources --only accepts.
var knownSources = []string{"volumes", "paths", "mariadb", "zookeeper"}

// selection merges --only and --include into restore.Options.Include.
func (f *restoreFlags) selection() ([]string, error) {
	var out []string
	for _, s := range f.only {
		s = strings.TrimSpace(s)
		if !slices.Contains(knownSources, s) {
			return nil, usageError{fmt.Errorf("--only %q: use a comma-separated list of %s (--include SOURCE/PART selects single parts)",
				s, strings.Join(knownSources, ", "))}
		}
		out = append(out, s)
	}
	return append(out, f.include...), nil
}

func planTitle(m *snapshot.Manifest, target, profile string, dry bool) string {
	where := "the restore section of the configuration"
	if target != "" {
		where = "target " + target
	}
	verb := "Plan"
	if dry {
		verb = "Plan (dry run)"
	}
	return fmt.Sprintf("%s: restore snapshot %s (host %s, %s) into %s, profile %s",
		verb, m.ID, m.Host, m.End.UTC().Format("2006-01-02 15:04 UTC"), where, profile)
}

// nextSteps is what an operator does after the restore, for what was
// restored.
func nextSteps(parts []snapshot.Part, s *restoreSetup) []string {
	has := map[string]bool{}
	for _, p := range parts {
		has[p.Source] = true
		has[p.Source+"/"+p.Name] = true
	}
	var out []string
	if has["zookeeper"] {
		out = append(out, "Zuul's [keystore] password in zuul.conf must be the one of the instance the snapshot was taken from: the restored project keys are encrypted with it and are unreadable otherwise.")
	}
	if has["volumes"] || has["paths"] {
		out = append(out, "Check that the compose file (or units) mount the restored volumes and directories; renamed volumes and moved bind paths must be mounted under their new names.")
	}
	if has["mariadb"] {
		out = append(out, "Start one zuul-scheduler first and wait until it is up: it migrates the database schema forward (Zuul never migrates back, so do not point an older Zuul at it). Then start the other components.")
	}
	if s.profile == config.ProfileDev || s.zkProfile == rzookeeper.ProfileDev {
		out = append(out,
			"This is a dev instance: before starting it, disable the pipelines' triggers and reporters (or point the connections at a test code review system), or it comments on, votes on and merges real changes.")
		if has["zookeeper"] {
			out = append(out, "Of ZooKeeper only the project keys (/keystorage, /keystorage-oidc) and what the target includes were restored: the dev Zuul creates its own system id and runtime state; give its Nodepool its own cloud credentials or providers so it never sees prod's servers and images.")
		}
	}
	if has["zookeeper/keys"] {
		out = append(out, "The zookeeper/keys part was not loaded: it is the zuul-admin export-keys file of the same keys (zuul-admin import-keys reads it).")
	}
	return out
}
