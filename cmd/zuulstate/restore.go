package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	rmariadb "github.com/zuulstate/zuulstate/restore/mariadb"
	rpaths "github.com/zuulstate/zuulstate/restore/paths"
	"github.com/zuulstate/zuulstate/snapshot"
)

// restoreFlags are the restore command's options.
type restoreFlags struct {
	target          string
	original, force bool
	dryRun, skipVfy bool
	withGrants      bool
	include, dbMap  []string
}

func newRestoreCommand(a *app) *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore ID|latest [--target DIR | --original] [--db-map SRC=DST]...",
		Short: "Restore a snapshot",
		Long: `Restores the parts of a snapshot. Every target is checked and every selected
part is read back and verified before anything is written, so a corrupt
snapshot changes nothing. Targets must be empty unless --force is given.

paths parts go to DIR/<part name> with --target DIR, or back to the directory
they were taken from with --original.

mariadb parts go to restore.mariadb in the configuration, or to the source
server when that is not set. Each database is created (renamed with --db-map),
its tables loaded in parallel, then views, triggers, routines and events; row
counts are compared with the snapshot. A database that exists and is not empty
is refused unless --force, which drops it first.`,
		Example: `  zuulstate restore latest --target /srv/restore
  zuulstate restore latest --include mariadb --db-map zuul=zuul_dev --dry-run
  zuulstate restore 20261125T211304Z-3fa1c2d9 --include paths/certs --original --force`,
		Args: exactlyOneArg("snapshot id or 'latest'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.target != "" && f.original {
				return usageError{errors.New("give at most one of --target DIR or --original")}
			}
			ctx := cmd.Context()
			m, repo, err := a.snapshot(ctx, args[0])
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			restorers, plan, err := f.restorers(a, cfg, m)
			if err != nil {
				return err
			}
			defer func() {
				for _, r := range restorers {
					if c, ok := r.(io.Closer); ok {
						_ = c.Close() // connection pools; nothing left to report
					}
				}
			}()
			parts, err := restore.Run(ctx, repo, m, restorers, restore.Options{
				Include: f.include, SkipVerify: f.skipVfy, DryRun: f.dryRun, Log: a.log,
			})
			if err != nil {
				return fmt.Errorf("restore of snapshot %s failed: %w", m.ID, err)
			}
			if f.dryRun {
				for _, line := range plan(parts) {
					fmt.Fprintln(a.stdout, line)
				}
				return nil
			}
			if !a.quiet {
				for _, p := range parts {
					fmt.Fprintf(a.stdout, "restored %s/%s (%s)\n", p.Source, p.Name, humanBytes(p.RawSize))
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "directory that receives one subdirectory per paths part")
	fl.BoolVar(&f.original, "original", false, "restore paths parts to the directories they were taken from")
	fl.BoolVar(&f.force, "force", false, "restore into non-empty targets, replacing files and dropping databases")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check targets and print what would be restored")
	fl.BoolVar(&f.skipVfy, "skip-verify", false, "do not read every part once before writing (faster, but a corrupt part is found only midway)")
	fl.BoolVar(&f.withGrants, "with-grants", false, "also create the users and grants stored with mariadb parts")
	fl.StringArrayVar(&f.include, "include", nil, "restore only SOURCE or SOURCE/PART (repeatable)")
	fl.StringArrayVar(&f.dbMap, "db-map", nil, "restore database SRC as DST (repeatable; overrides restore.mariadb.db_map)")
	return cmd
}

// restorers builds one restorer per source the snapshot needs, and a
// function that describes the restore for --dry-run.
func (f *restoreFlags) restorers(a *app, cfg *config.Config, m *snapshot.Manifest) ([]restore.Restorer, func([]snapshot.Part) []string, error) {
	var out []restore.Restorer
	var mdb *rmariadb.Restorer
	sources := map[string]bool{}
	for _, p := range m.Parts {
		if restore.Included(f.include, p) {
			sources[p.Source] = true
		}
	}
	if sources["paths"] {
		if f.target == "" && !f.original {
			return nil, nil, usageError{errors.New("this snapshot has paths parts: give --target DIR or --original (or --include another source)")}
		}
		out = append(out, &rpaths.Restorer{Target: f.target, Force: f.force})
	}
	if sources["mariadb"] {
		conn, dbMap, workers, ok := cfg.MariaDBTarget()
		if !ok {
			return nil, nil, fmt.Errorf("%w: this snapshot has mariadb parts: configure restore.mariadb (or sources.mariadb) to say where they go", config.ErrInvalid)
		}
		if len(f.dbMap) > 0 {
			dbMap = map[string]string{}
			for _, kv := range f.dbMap {
				src, dst, ok := strings.Cut(kv, "=")
				if !ok || src == "" || dst == "" {
					return nil, nil, usageError{fmt.Errorf("--db-map %q: use SRC=DST", kv)}
				}
				dbMap[src] = dst
			}
		}
		tlsCfg, err := conn.TLS.TLSConfig()
		if err != nil {
			return nil, nil, err
		}
		mdb = rmariadb.New(rmariadb.Config{
			Addr: conn.Addr, Socket: conn.Socket, User: conn.User, Password: conn.Password.Reveal(), TLS: tlsCfg,
			DBMap: dbMap, Force: f.force, Workers: workers, WithGrants: f.withGrants,
			Log: a.log, Out: a.stdout,
		})
		out = append(out, mdb)
	}
	plan := func(parts []snapshot.Part) []string {
		var lines []string
		var mparts []snapshot.Part
		for _, p := range parts {
			if p.Source == "mariadb" {
				mparts = append(mparts, p)
				continue
			}
			lines = append(lines, fmt.Sprintf("would restore %s/%s (%s)", p.Source, p.Name, humanBytes(p.RawSize)))
		}
		if mdb != nil {
			lines = append(lines, mdb.Plan(mparts)...)
		}
		return lines
	}
	return out, plan, nil
}
