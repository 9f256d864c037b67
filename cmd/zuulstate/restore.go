package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/restore"
	rmariadb "github.com/zuulstate/zuulstate/restore/mariadb"
	rpaths "github.com/zuulstate/zuulstate/restore/paths"
	rvolumes "github.com/zuulstate/zuulstate/restore/volumes"
	rzookeeper "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
)

// restoreFlags are the restore command's options.
type restoreFlags struct {
	target          string
	original, force bool
	dryRun, skipVfy bool
	withGrants      bool
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
is refused unless --force, which drops it first.

volumes parts go to the engine of restore.volumes.docker (or the source's):
each volume is created with its recorded driver, options and labels (renamed
with --volume-map), each bind path is created (moved with --bind-map). The
archive is validated entry by entry and lands in the target only when all of
it was good; device nodes need --allow-devices. A non-empty target is refused
unless --force, which replaces its content once the archive is extracted.
File counts and bytes are compared with the snapshot and printed.

zookeeper parts go to restore.zookeeper (its connection fields override the
source's). The tree part is restored; the keys part is the zuul-admin
export-keys file of the same keys. Nodes are created parents first with their
ACLs, declared container and TTL nodes with their kind, and every parent's
sequence counter is advanced to its recorded value; every node is then read
back and compared. A target subtree that exists is refused unless --force
(merge: data and ACLs of existing nodes are overwritten) or --wipe (the
subtree is deleted first). Profile dev (restore.zookeeper.profile) never
restores /zuul-system or /nodepool.`,
		Example: `  zuulstate restore latest --target /srv/restore
  zuulstate restore latest --include mariadb --db-map zuul=zuul_dev --dry-run
  zuulstate restore 20261125T211304Z-3fa1c2d9 --include paths/certs --original --force
  zuulstate restore latest --include volumes --volume-map log_server=dev_log_server --bind-map /opt/zuul=/srv/dev/zuul
  zuulstate restore latest --include zookeeper --wipe --dry-run`,
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
					fmt.Fprintf(a.stdout, "restored %s/%s (%s)\n", p.Source, p.Name, units.Bytes(p.RawSize))
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
	fl.StringArrayVar(&f.volumeMap, "volume-map", nil, "restore Docker volume SRC as DST (repeatable; adds to restore.volumes.volume_map)")
	fl.StringArrayVar(&f.bindMap, "bind-map", nil, "restore bind paths under SRC below DST (repeatable; adds to restore.volumes.bind_map)")
	fl.BoolVar(&f.allowDevices, "allow-devices", false, "create device nodes found in volumes parts (refused otherwise)")
	fl.BoolVar(&f.wipe, "wipe", false, "zookeeper: delete the target subtrees before restoring them")
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
	var vol *rvolumes.Restorer
	if sources["volumes"] {
		var err error
		if vol, err = f.volumesRestorer(a, cfg); err != nil {
			return nil, nil, err
		}
		out = append(out, vol)
	}
	var zkr *rzookeeper.Restorer
	if f.wipe && !sources["zookeeper"] {
		return nil, nil, usageError{errors.New("--wipe applies to zookeeper parts, and this restore has none")}
	}
	if sources["zookeeper"] {
		var err error
		if zkr, err = f.zookeeperRestorer(a, cfg); err != nil {
			return nil, nil, err
		}
		out = append(out, zkr)
	}
	plan := func(parts []snapshot.Part) []string {
		var lines []string
		var zparts []snapshot.Part
		var mparts, vparts []snapshot.Part
		for _, p := range parts {
			if p.Source == "zookeeper" && zkr != nil {
				zparts = append(zparts, p)
				continue
			}
			if p.Source == "volumes" && vol != nil {
				vparts = append(vparts, p)
				continue
			}
			if p.Source == "mariadb" {
				mparts = append(mparts, p)
				continue
			}
			lines = append(lines, fmt.Sprintf("would restore %s/%s (%s)", p.Source, p.Name, units.Bytes(p.RawSize)))
		}
		if mdb != nil {
			lines = append(lines, mdb.Plan(mparts)...)
		}
		if vol != nil {
			lines = append(lines, vol.Plan(vparts)...)
		}
		if zkr != nil {
			lines = append(lines, zkr.Plan(zparts)...)
		}
		return lines
	}
	return out, plan, nil
}

// volumesRestorer maps restore.volumes and the --volume-map, --bind-map
// and --allow-devices flags onto the volumes restorer.
func (f *restoreFlags) volumesRestorer(a *app, cfg *config.Config) (*rvolumes.Restorer, error) {
	conn, err := dockerConn(cfg.VolumesEngine())
	if err != nil {
		return nil, err
	}
	rc := rvolumes.Config{Conn: conn, Force: f.force, AllowDevices: f.allowDevices, Log: a.log, Out: a.stdout,
		VolumeMap: map[string]string{}, BindMap: map[string]string{}}
	if r := cfg.Restore.Volumes; r != nil {
		rc.Mode, rc.HelperBinary, rc.AllowDevices = r.Mode, r.HelperBinary, r.AllowDevices || f.allowDevices
		maps.Copy(rc.VolumeMap, r.VolumeMap)
		maps.Copy(rc.BindMap, r.BindMap)
	}
	for _, kv := range f.volumeMap {
		src, dst, ok := strings.Cut(kv, "=")
		if !ok || !config.VolumeNamePattern.MatchString(src) || !config.VolumeNamePattern.MatchString(dst) {
			return nil, usageError{fmt.Errorf("--volume-map %q: use SRC=DST with Docker volume names", kv)}
		}
		rc.VolumeMap[src] = dst
	}
	for _, kv := range f.bindMap {
		src, dst, ok := strings.Cut(kv, "=")
		if !ok || !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
			return nil, usageError{fmt.Errorf("--bind-map %q: use /SRC/PATH=/DST/PATH", kv)}
		}
		rc.BindMap[src] = dst
	}
	if a.quiet {
		rc.Out = io.Discard
	}
	return rvolumes.New(rc), nil
}

// zookeeperRestorer maps restore.zookeeper (over the source's connection)
// and --force or --wipe onto the zookeeper restorer.
func (f *restoreFlags) zookeeperRestorer(a *app, cfg *config.Config) (*rzookeeper.Restorer, error) {
	if f.force && f.wipe {
		return nil, usageError{errors.New("give at most one of --force (merge into zookeeper subtrees) or --wipe (delete them first)")}
	}
	conn, r, ok := cfg.ZooKeeperTarget()
	if !ok {
		return nil, fmt.Errorf("%w: this snapshot has zookeeper parts: configure restore.zookeeper (or sources.zookeeper) to say where they go", config.ErrInvalid)
	}
	cc, err := conn.Client()
	if err != nil {
		return nil, err
	}
	replace, err := config.ParseACLs(r.ReplaceACLs)
	if err != nil {
		return nil, fmt.Errorf("%w: restore.zookeeper.replace_acls: %w", config.ErrInvalid, err)
	}
	out := a.stdout
	if a.quiet {
		out = io.Discard
	}
	return rzookeeper.New(rzookeeper.Config{Conn: cc, Profile: r.Profile, Include: r.Include, Exclude: r.Exclude, PathMap: r.PathMap,
		Force: f.force, Wipe: f.wipe, ReplaceACLs: replace, MaxRequestBytes: int(r.MaxRequestBytes), BatchOps: r.BatchOps,
		BatchBytes: int(r.BatchBytes), InFlight: r.InFlight, Log: a.log, Out: out}), nil
}
