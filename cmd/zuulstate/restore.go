package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/job"
)

// restoreFlags are the restore command's options; the maps are given as
// repeated SRC=DST flags.
type restoreFlags struct {
	job.RestoreOptions
	only                            []string
	databaseMap, volumeMap, bindMap []string
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
		Args: exactlyOneArg("snapshot id, id prefix, 'latest' or 'latest~N'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(args[0])
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			o.Quiet, o.Log, o.Out = a.quiet, a.log, a.stdout
			return job.Restore(cmd.Context(), cfg, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Target, "target", "", "restore into targets.NAME of the configuration (default: the restore section)")
	fl.StringVar(&f.PathsDir, "paths-dir", "", "directory that receives one subdirectory per paths part (overrides the target's paths)")
	fl.BoolVar(&f.Original, "original", false, "restore paths parts to the directories they were taken from")
	fl.BoolVar(&f.Force, "force", false, "restore into non-empty targets, replacing files and dropping databases")
	fl.BoolVar(&f.DryRun, "dry-run", false, "check the targets, print the plan and stop")
	fl.BoolVar(&f.SkipVerify, "skip-verify", false, "do not read every part once before writing (faster, but a corrupt part is found only midway)")
	fl.BoolVar(&f.DeepVerify, "deep-verify", false, "decode every part before writing, not only re-hash its stored bytes (also refuses a consistently forged manifest up front)")
	cmd.MarkFlagsMutuallyExclusive("skip-verify", "deep-verify")
	fl.BoolVar(&f.WithGrants, "with-grants", false, "also create the users and roles stored with mariadb parts, with their grants")
	fl.StringSliceVar(&f.only, "only", nil, "restore only these sources: "+strings.Join(job.SourceNames(), ", ")+" (comma-separated)")
	fl.StringArrayVar(&f.Include, "include", nil, "restore only SOURCE or SOURCE/PART (repeatable; the finer form of --only)")
	fl.StringArrayVar(&f.databaseMap, "db-map", nil, "restore database SRC as DST (repeatable; overrides the target's mariadb.db_map)")
	fl.StringArrayVar(&f.volumeMap, "volume-map", nil, "restore Docker volume SRC as DST (repeatable; adds to the target's volumes.volume_map)")
	fl.StringArrayVar(&f.bindMap, "bind-map", nil, "restore bind paths under SRC below DST (repeatable; adds to the target's volumes.bind_map)")
	fl.BoolVar(&f.AllowDevices, "allow-devices", false, "create device nodes found in volumes parts (refused otherwise)")
	fl.BoolVar(&f.Wipe, "wipe", false, "zookeeper: delete the target subtrees before restoring them")
	return cmd
}

// options checks the flags and turns them into the restore job's options.
func (f *restoreFlags) options(snapshotRef string) (job.RestoreOptions, error) {
	o := f.RestoreOptions
	o.Snapshot = snapshotRef
	if o.PathsDir != "" && o.Original {
		return o, usageError{errors.New("give at most one of --paths-dir DIR or --original")}
	}
	if o.PathsDir != "" && !filepath.IsAbs(o.PathsDir) {
		abs, err := filepath.Abs(o.PathsDir)
		if err != nil {
			return o, usageError{fmt.Errorf("--paths-dir %q: %w", o.PathsDir, err)}
		}
		o.PathsDir = abs
	}
	o.Include = nil
	for _, s := range f.only {
		s = strings.TrimSpace(s)
		if !slices.Contains(job.SourceNames(), s) {
			return o, usageError{fmt.Errorf("--only %q: use a comma-separated list of %s (--include SOURCE/PART selects single parts)",
				s, strings.Join(job.SourceNames(), ", "))}
		}
		o.Include = append(o.Include, s)
	}
	o.Include = append(o.Include, f.Include...)
	var err error
	if o.DatabaseMap, err = pairs("--db-map", f.databaseMap, "SRC=DST", func(s string) bool { return s != "" }); err != nil {
		return o, err
	}
	if o.VolumeMap, err = pairs("--volume-map", f.volumeMap, "SRC=DST with Docker volume names", config.VolumeNamePattern.MatchString); err != nil {
		return o, err
	}
	o.BindMap, err = pairs("--bind-map", f.bindMap, "/SRC/PATH=/DST/PATH", filepath.IsAbs)
	return o, err
}

// pairs reads repeated SRC=DST flags whose sides pass valid; nil when
// none are given.
func pairs(flag string, list []string, form string, valid func(string) bool) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range list {
		from, to, ok := strings.Cut(kv, "=")
		if !ok || !valid(from) || !valid(to) {
			return nil, usageError{fmt.Errorf("%s %q: use %s", flag, kv, form)}
		}
		out[from] = to
	}
	return out, nil
}
