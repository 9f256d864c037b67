package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	rmariadb "github.com/zuulstate/zuulstate/restore/mariadb"
	rpaths "github.com/zuulstate/zuulstate/restore/paths"
	rvolumes "github.com/zuulstate/zuulstate/restore/volumes"
	rzookeeper "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
)

// restoreSetup is what the flags and the configuration resolve to.
type restoreSetup struct {
	restorers []restore.Restorer
	dest      map[string]string // source → where it goes, for the plan
	profile   string
	zkProfile string
}

// setup builds one restorer per source the selection needs, and says
// where each source goes.
func (f *restoreFlags) setup(a *app, cfg *config.Config, tgt *config.Target, m *snapshot.Manifest, include []string) (*restoreSetup, error) {
	s := &restoreSetup{dest: map[string]string{}, profile: config.ProfileDR}
	if tgt != nil {
		s.profile = tgt.ProfileName()
	}
	sources := map[string]bool{}
	for _, p := range m.Parts {
		if restore.Included(include, p) {
			sources[p.Source] = true
		}
	}
	out := a.stdout
	if a.quiet {
		out = io.Discard
	}
	if sources["paths"] {
		dir, original := f.pathsDir, f.original
		if dir == "" && !original && tgt != nil && tgt.Paths != nil {
			dir, original = tgt.Paths.Dir, tgt.Paths.Original
		}
		if dir == "" && !original {
			return nil, usageError{errors.New("this snapshot has paths parts: give --paths-dir DIR or --original, set paths in the target, or leave them out with --only/--include")}
		}
		s.dest["paths"] = "back where they were taken from"
		if dir != "" {
			s.dest["paths"] = "directory " + dir
		}
		s.restorers = append(s.restorers, &rpaths.Restorer{Target: dir, Force: f.force})
	}
	if sources["volumes"] {
		vol, engineName, err := f.volumesRestorer(a, cfg, out)
		if err != nil {
			return nil, err
		}
		s.dest["volumes"] = "docker engine " + engineName
		s.restorers = append(s.restorers, vol)
	}
	if sources["mariadb"] {
		mdb, addr, err := f.mariadbRestorer(a, cfg, out)
		if err != nil {
			return nil, err
		}
		s.dest["mariadb"] = "mariadb " + addr
		s.restorers = append(s.restorers, mdb)
	}
	if f.wipe && !sources["zookeeper"] {
		return nil, usageError{errors.New("--wipe applies to zookeeper parts, and this restore has none")}
	}
	if sources["zookeeper"] {
		zkr, servers, profile, err := f.zookeeperRestorer(a, cfg, out)
		if err != nil {
			return nil, err
		}
		s.zkProfile = profile
		if tgt == nil {
			s.profile = profile // the restore section's only profile is zookeeper's
		}
		s.dest["zookeeper"] = fmt.Sprintf("zookeeper %s, profile %s", servers, profile)
		s.restorers = append(s.restorers, zkr)
	}
	return s, nil
}

// mariadbRestorer maps the target's mariadb section (over the source's
// connection) and --db-map onto the mariadb restorer.
func (f *restoreFlags) mariadbRestorer(a *app, cfg *config.Config, out io.Writer) (*rmariadb.Restorer, string, error) {
	conn, dbMap, workers, ok := cfg.MariaDBTarget()
	if !ok {
		return nil, "", fmt.Errorf("%w: this snapshot has mariadb parts: configure the target's mariadb (or sources.mariadb) to say where they go", config.ErrInvalid)
	}
	if len(f.dbMap) > 0 {
		dbMap = map[string]string{}
		for _, kv := range f.dbMap {
			src, dst, ok := strings.Cut(kv, "=")
			if !ok || src == "" || dst == "" {
				return nil, "", usageError{fmt.Errorf("--db-map %q: use SRC=DST", kv)}
			}
			dbMap[src] = dst
		}
	}
	tlsCfg, err := conn.TLS.TLSConfig()
	if err != nil {
		return nil, "", err
	}
	addr := conn.Addr
	if conn.Socket != "" {
		addr = "unix:" + conn.Socket
	}
	desc := fmt.Sprintf("%s as %s", addr, conn.User)
	for _, src := range slices.Sorted(maps.Keys(dbMap)) {
		desc += fmt.Sprintf(", %s → %s", src, dbMap[src])
	}
	return rmariadb.New(rmariadb.Config{
		Addr: conn.Addr, Socket: conn.Socket, User: conn.User, Password: conn.Password.Reveal(), TLS: tlsCfg,
		DBMap: dbMap, Force: f.force, Workers: workers, WithGrants: f.withGrants,
		Log: a.log, Out: out,
	}), desc, nil
}

// volumesRestorer maps the target's volumes section and the --volume-map,
// --bind-map and --allow-devices flags onto the volumes restorer.
func (f *restoreFlags) volumesRestorer(a *app, cfg *config.Config, out io.Writer) (*rvolumes.Restorer, string, error) {
	dc := cfg.VolumesEngine()
	conn, err := dockerConn(dc)
	if err != nil {
		return nil, "", err
	}
	rc := rvolumes.Config{Conn: conn, Force: f.force, AllowDevices: f.allowDevices, Log: a.log, Out: out,
		VolumeMap: map[string]string{}, BindMap: map[string]string{}}
	if r := cfg.Restore.Volumes; r != nil {
		rc.Mode, rc.HelperBinary, rc.AllowDevices = r.Mode, r.HelperBinary, r.AllowDevices || f.allowDevices
		maps.Copy(rc.VolumeMap, r.VolumeMap)
		maps.Copy(rc.BindMap, r.BindMap)
	}
	for _, kv := range f.volumeMap {
		src, dst, ok := strings.Cut(kv, "=")
		if !ok || !config.VolumeNamePattern.MatchString(src) || !config.VolumeNamePattern.MatchString(dst) {
			return nil, "", usageError{fmt.Errorf("--volume-map %q: use SRC=DST with Docker volume names", kv)}
		}
		rc.VolumeMap[src] = dst
	}
	for _, kv := range f.bindMap {
		src, dst, ok := strings.Cut(kv, "=")
		if !ok || !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
			return nil, "", usageError{fmt.Errorf("--bind-map %q: use /SRC/PATH=/DST/PATH", kv)}
		}
		rc.BindMap[src] = dst
	}
	name := dc.Host
	if name == "" {
		name = "from DOCKER_HOST or the local socket"
	}
	for _, m := range []map[string]string{rc.VolumeMap, rc.BindMap} {
		for _, src := range slices.Sorted(maps.Keys(m)) {
			name += fmt.Sprintf(", %s → %s", src, m[src])
		}
	}
	return rvolumes.New(rc), name, nil
}

// zookeeperRestorer maps the target's zookeeper section (over the source's
// connection) and --force or --wipe onto the zookeeper restorer.
func (f *restoreFlags) zookeeperRestorer(a *app, cfg *config.Config, out io.Writer) (*rzookeeper.Restorer, string, string, error) {
	if f.force && f.wipe {
		return nil, "", "", usageError{errors.New("give at most one of --force (merge into zookeeper subtrees) or --wipe (delete them first)")}
	}
	conn, r, ok := cfg.ZooKeeperTarget()
	if !ok {
		return nil, "", "", fmt.Errorf("%w: this snapshot has zookeeper parts: configure the target's zookeeper (or sources.zookeeper) to say where they go", config.ErrInvalid)
	}
	cc, err := conn.Client()
	if err != nil {
		return nil, "", "", err
	}
	replace, err := config.ParseACLs(r.ReplaceACLs)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: zookeeper.replace_acls: %w", config.ErrInvalid, err)
	}
	profile := r.Profile
	if profile == "" {
		profile = rzookeeper.ProfileDR
	}
	servers := strings.Join(conn.Servers, ",") + conn.Chroot
	if conn.TLS != nil {
		servers += " (TLS)"
	}
	return rzookeeper.New(rzookeeper.Config{Conn: cc, Profile: profile, Include: r.Include, Exclude: r.Exclude, PathMap: r.PathMap,
		Force: f.force, Wipe: f.wipe, ReplaceACLs: replace, MaxRequestBytes: int(r.MaxRequestBytes), BatchOps: r.BatchOps,
		BatchBytes: int(r.BatchBytes), InFlight: r.InFlight, Log: a.log, Out: out}), servers, profile, nil
}
