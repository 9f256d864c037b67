// Command zuuldb creates a database with the shape of Zuul's SQL reporter
// schema (Zuul 10.x: zuul_ref, zuul_buildset, zuul_buildset_ref,
// zuul_buildset_event, zuul_build, zuul_build_event, zuul_artifact,
// zuul_provides and alembic_version) and fills it with realistic rows until
// its tables take -size bytes (information_schema data_length +
// index_length). It is the input of the mariadb benchmark (scripts/benchdb)
// and can be used by hand:
//
//	eval "$(scripts/dev-services.sh env)"
//	go run ./scripts/zuuldb -db zuul_bench -size 1GiB
//	go run ./scripts/zuuldb -db zuul -buildsets 2000   # small and exact: the demo's
//
// The password comes from ZUULSTATE_TEST_MARIADB_PASSWORD or MYSQL_PWD, never
// from the command line. An existing database that is already at least -size
// and complete (it holds the alembic_version row, written last) is left alone
// unless -drop is given. -buildsets N writes exactly N buildsets (with their
// builds, artifacts, ...) instead of filling to -size.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// AlembicHead is the alembic_version row written when the data is complete.
const AlembicHead = "a5a9e53c5e73"

func main() {
	var (
		addr    = flag.String("addr", envOr("ZUULSTATE_TEST_MARIADB_PROD_ADDR", "127.0.0.1:13306"), "MariaDB host:port")
		user    = flag.String("user", envOr("ZUULSTATE_TEST_MARIADB_USER", "zuulstate"), "MariaDB user (password from ZUULSTATE_TEST_MARIADB_PASSWORD or MYSQL_PWD)")
		dbName  = flag.String("db", "zuul_bench", "database to create")
		sizeArg = flag.String("size", "1GiB", "target size of data and indexes (B, KiB, MiB, GiB)")
		workers = flag.Int("workers", 2, "insert connections")
		drop    = flag.Bool("drop", false, "drop and recreate the database even if it is complete")
		seed    = flag.Uint64("seed", 1, "random seed")
		nsets   = flag.Int64("buildsets", 0, "write exactly this many buildsets instead of filling to -size")
	)
	flag.Parse()
	size, err := parseSize(*sizeArg)
	if err != nil {
		fatal(err)
	}
	pw := os.Getenv("ZUULSTATE_TEST_MARIADB_PASSWORD")
	if pw == "" {
		pw = os.Getenv("MYSQL_PWD")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &gen{addr: *addr, user: *user, password: pw, db: *dbName, target: size, buildsets: *nsets, workers: max(*workers, 1), seed: *seed}
	if err := g.run(ctx, *drop); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "zuuldb:", err)
	os.Exit(1)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return int64(v * float64(u.mult)), nil
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

type gen struct {
	addr, user, password, db string
	target                   int64
	buildsets                int64 // > 0: exactly this many, size ignored
	workers                  int
	seed                     uint64
	pool                     *sql.DB
}

func (g *gen) open(db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", g.addr, g.user, g.password, db
	cfg.MaxAllowedPacket = 0
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Schema is Zuul's SQL reporter schema as its alembic migrations leave it on
// MariaDB (table prefix "zuul_").
var Schema = []string{
	`CREATE TABLE zuul_ref (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  project varchar(255) NOT NULL,
  ref varchar(255) NOT NULL,
  ref_url varchar(255) DEFAULT NULL,
  ` + "`change`" + ` int(11) DEFAULT NULL,
  patchset varchar(40) DEFAULT NULL,
  oldrev varchar(40) DEFAULT NULL,
  newrev varchar(40) DEFAULT NULL,
  branch varchar(255) DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY zuul_ref_unique (project, ref, ` + "`change`" + `, patchset, oldrev, newrev),
  KEY zuul_ref_project_change_idx (project, ` + "`change`" + `),
  KEY zuul_ref_change_idx (` + "`change`" + `)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_buildset (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  uuid varchar(36) DEFAULT NULL,
  zuul_ref varchar(255) DEFAULT NULL,
  pipeline varchar(255) DEFAULT NULL,
  result varchar(255) DEFAULT NULL,
  message text DEFAULT NULL,
  tenant varchar(255) DEFAULT NULL,
  event_id varchar(255) DEFAULT NULL,
  event_timestamp datetime DEFAULT NULL,
  first_build_start_time datetime DEFAULT NULL,
  last_build_end_time datetime DEFAULT NULL,
  updated datetime DEFAULT NULL,
  PRIMARY KEY (id),
  KEY zuul_buildset_uuid_idx (uuid),
  KEY zuul_buildset_tenant_idx (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_buildset_ref (
  buildset_id bigint(20) NOT NULL,
  ref_id bigint(20) NOT NULL,
  PRIMARY KEY (buildset_id, ref_id),
  KEY zuul_buildset_ref_ref_id_idx (ref_id),
  CONSTRAINT zuul_buildset_ref_buildset_id_fkey FOREIGN KEY (buildset_id) REFERENCES zuul_buildset (id) ON DELETE CASCADE,
  CONSTRAINT zuul_buildset_ref_ref_id_fkey FOREIGN KEY (ref_id) REFERENCES zuul_ref (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_buildset_event (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  buildset_id bigint(20) DEFAULT NULL,
  event_time datetime DEFAULT NULL,
  event_type varchar(255) DEFAULT NULL,
  description text DEFAULT NULL,
  PRIMARY KEY (id),
  KEY zuul_buildset_event_buildset_id_idx (buildset_id),
  CONSTRAINT zuul_buildset_event_ibfk_1 FOREIGN KEY (buildset_id) REFERENCES zuul_buildset (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_build (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  buildset_id bigint(20) DEFAULT NULL,
  uuid varchar(36) DEFAULT NULL,
  job_name varchar(255) DEFAULT NULL,
  result varchar(255) DEFAULT NULL,
  start_time datetime DEFAULT NULL,
  end_time datetime DEFAULT NULL,
  voting tinyint(1) DEFAULT NULL,
  log_url text DEFAULT NULL,
  error_detail text DEFAULT NULL,
  final tinyint(1) DEFAULT NULL,
  held tinyint(1) DEFAULT NULL,
  nodeset varchar(255) DEFAULT NULL,
  ref_id bigint(20) DEFAULT NULL,
  PRIMARY KEY (id),
  KEY zuul_build_buildset_id_idx (buildset_id),
  KEY zuul_build_uuid_buildset_id_idx (uuid, buildset_id),
  KEY zuul_build_job_name_buildset_id_idx (job_name, buildset_id),
  KEY zuul_build_ref_id_idx (ref_id),
  KEY zuul_build_end_time_idx (end_time),
  CONSTRAINT zuul_build_ibfk_1 FOREIGN KEY (buildset_id) REFERENCES zuul_buildset (id),
  CONSTRAINT zuul_build_ref_id_fkey FOREIGN KEY (ref_id) REFERENCES zuul_ref (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_build_event (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  build_id bigint(20) DEFAULT NULL,
  event_time datetime DEFAULT NULL,
  event_type varchar(255) DEFAULT NULL,
  description text DEFAULT NULL,
  PRIMARY KEY (id),
  KEY zuul_build_event_build_id_idx (build_id),
  CONSTRAINT zuul_build_event_ibfk_1 FOREIGN KEY (build_id) REFERENCES zuul_build (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_artifact (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  build_id bigint(20) NOT NULL,
  name varchar(255) NOT NULL,
  url text NOT NULL,
  meta text DEFAULT NULL,
  PRIMARY KEY (id),
  KEY zuul_artifact_build_id_idx (build_id),
  CONSTRAINT zuul_artifact_ibfk_1 FOREIGN KEY (build_id) REFERENCES zuul_build (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE zuul_provides (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  build_id bigint(20) NOT NULL,
  name varchar(255) NOT NULL,
  PRIMARY KEY (id),
  KEY zuul_provides_build_id_idx (build_id),
  CONSTRAINT zuul_provides_ibfk_1 FOREIGN KEY (build_id) REFERENCES zuul_build (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE alembic_version (
  version_num varchar(32) NOT NULL,
  PRIMARY KEY (version_num)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
}

func (g *gen) run(ctx context.Context, drop bool) error {
	root, err := g.open("")
	if err != nil {
		return err
	}
	defer root.Close()
	if !drop {
		size, complete, err := g.existing(ctx, root)
		if err != nil {
			return err
		}
		if complete && g.buildsets > 0 {
			if n, err := g.countBuildsets(ctx, root); err == nil && n == g.buildsets {
				fmt.Printf("zuuldb: %s is complete: %d buildsets; keeping it\n", g.db, n)
				return nil
			}
		} else if complete && size >= g.target*95/100 {
			fmt.Printf("zuuldb: %s is complete: %d MiB (target %d MiB); keeping it\n", g.db, size>>20, g.target>>20)
			return nil
		}
	}
	q := "`" + strings.ReplaceAll(g.db, "`", "``") + "`"
	if _, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q); err != nil {
		return err
	}
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+q+" CHARACTER SET utf8mb4"); err != nil {
		return err
	}
	g.pool, err = g.open(g.db)
	if err != nil {
		return err
	}
	defer g.pool.Close()
	g.pool.SetMaxOpenConns(g.workers + 1)
	for _, s := range Schema {
		if _, err := g.pool.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s: %w", s, err)
		}
	}
	start := time.Now()
	if err := g.fill(ctx); err != nil {
		return err
	}
	if _, err := g.pool.ExecContext(ctx, "INSERT INTO alembic_version VALUES ('"+AlembicHead+"')"); err != nil {
		return err
	}
	wall := time.Since(start)
	for _, t := range []string{"zuul_ref", "zuul_buildset", "zuul_buildset_ref", "zuul_buildset_event", "zuul_build", "zuul_build_event", "zuul_artifact", "zuul_provides"} {
		if _, err := g.pool.ExecContext(ctx, "ANALYZE TABLE "+t); err != nil {
			return err
		}
	}
	size, _, err := g.existing(ctx, root)
	if err != nil {
		return err
	}
	fmt.Printf("zuuldb: %s: %d MiB of data and indexes in %.1f s (%.1f MiB/s)\n", g.db, size>>20, wall.Seconds(), float64(size)/(1<<20)/wall.Seconds())
	return g.printCounts(ctx)
}

func (g *gen) countBuildsets(ctx context.Context, root *sql.DB) (int64, error) {
	var n int64
	err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+strings.ReplaceAll(g.db, "`", "``")+"`.zuul_buildset").Scan(&n)
	return n, err
}

// existing returns the database's size and whether it holds the alembic row.
func (g *gen) existing(ctx context.Context, root *sql.DB) (int64, bool, error) {
	var size sql.NullInt64
	err := root.QueryRowContext(ctx, `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ?`, g.db).Scan(&size)
	if err != nil || !size.Valid {
		return 0, false, err
	}
	var v string
	err = root.QueryRowContext(ctx, "SELECT version_num FROM `"+strings.ReplaceAll(g.db, "`", "``")+"`.alembic_version").Scan(&v)
	if err != nil {
		return size.Int64, false, nil //nolint:nilerr // no table or no row: incomplete
	}
	return size.Int64, v == AlembicHead, nil
}

func (g *gen) printCounts(ctx context.Context) error {
	rows, err := g.pool.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, g.db)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n, size int64
		if err := rows.Scan(&name, &n, &size); err != nil {
			return err
		}
		fmt.Printf("  %-20s ~%9d rows %6d MiB\n", name, n, size>>20)
	}
	return rows.Err()
}

// Each chunk writes chunkBuildsets buildsets with their refs, builds, events,
// artifacts and provides. Ids are computed from the buildset id so workers
// need no coordination: a buildset's builds are bs*maxBuilds+j, a build's
// artifacts build*maxArtifacts+k.
const (
	chunkBuildsets = 500
	maxBuilds      = 16
	maxArtifacts   = 8
)

func (g *gen) fill(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, g.workers)
	for w := range g.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := g.pool.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "SET SESSION unique_checks = 0, foreign_key_checks = 0, sql_log_bin = 0"); err != nil {
				errs <- err
				return
			}
			r := rand.New(rand.NewPCG(g.seed, uint64(w)))
			for !done.Load() {
				c := next.Add(1) - 1
				n := int64(chunkBuildsets)
				if g.buildsets > 0 {
					if n = min(n, g.buildsets-c*chunkBuildsets); n <= 0 {
						return
					}
				}
				if err := g.chunk(ctx, conn, r, c, n); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	// Watch the size; InnoDB's statistics lag, so ANALYZE the big tables.
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	for {
		select {
		case <-finished:
			close(errs)
			return <-errs
		case err := <-errs:
			done.Store(true)
			<-finished
			return err
		case <-tick.C:
			size, err := g.size(ctx)
			if err != nil {
				done.Store(true)
				<-finished
				return err
			}
			if g.buildsets > 0 {
				fmt.Fprintf(os.Stderr, "zuuldb: %d MiB, %d of %d buildsets\n", size>>20, min(next.Load()*chunkBuildsets, g.buildsets), g.buildsets)
			} else {
				fmt.Fprintf(os.Stderr, "zuuldb: %d MiB of %d MiB (%d buildsets)\n", size>>20, g.target>>20, next.Load()*chunkBuildsets)
			}
			if size >= g.target && g.buildsets == 0 {
				done.Store(true)
			}
		}
	}
}

func (g *gen) size(ctx context.Context) (int64, error) {
	for _, t := range []string{"zuul_build", "zuul_artifact", "zuul_buildset"} {
		if _, err := g.pool.ExecContext(ctx, "ANALYZE TABLE "+t); err != nil {
			return 0, err
		}
	}
	var size sql.NullInt64
	err := g.pool.QueryRowContext(ctx, `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ?`, g.db).Scan(&size)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return size.Int64, nil
}

var (
	tenants   = []string{"openstack", "opendev", "zuul", "starlingx", "airship"}
	pipelines = []string{"check", "gate", "post", "periodic", "promote", "release", "tag", "experimental"}
	projects  = []string{"openstack/nova", "openstack/neutron", "openstack/cinder", "openstack/keystone", "openstack/glance",
		"openstack/horizon", "openstack/swift", "opendev/system-config", "zuul/zuul", "zuul/zuul-jobs", "zuul/nodepool",
		"openstack/tempest", "openstack/requirements", "openstack/devstack", "starlingx/config", "airship/treasuremap"}
	jobs = []string{"openstack-tox-py311", "openstack-tox-py312", "openstack-tox-pep8", "openstack-tox-docs", "tempest-full-py3",
		"devstack-platform-ubuntu-jammy", "nova-grenade-multinode", "neutron-ovn-tempest-ovs-release", "build-openstack-sphinx-docs",
		"zuul-tox-py311", "zuul-build-image", "zuul-quick-start", "system-config-run-zuul", "openstack-tox-cover",
		"requirements-check", "cinder-plugin-ceph-tempest", "nova-live-migration", "tox-linters", "promote-openstack-tox-docs",
		"opendev-buildset-registry", "build-python-release", "upload-pypi", "propose-update-constraints"}
	results    = []string{"SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "FAILURE", "POST_FAILURE", "TIMED_OUT", "RETRY_LIMIT", "NODE_FAILURE", "SKIPPED", "ABORTED"}
	nodesets   = []string{"ubuntu-jammy", "ubuntu-noble", "centos-9-stream", "debian-bookworm", "openstack-two-node-jammy", "fedora-40", ""}
	artifacts  = []string{"Zuul Manifest", "Docs preview site", "Python wheel", "Python sdist", "Container image", "Unit Test Report", "tempest results"}
	eventTypes = []string{"patchset-created", "comment-added", "change-merged", "ref-updated", "timer", "wip-state-changed"}
)

// chunk inserts n buildsets from c*chunkBuildsets on and all their
// children, one multi-row INSERT per table.
func (g *gen) chunk(ctx context.Context, conn *sql.Conn, r *rand.Rand, c, n int64) error {
	var refs, bsets, bsrefs, bsevents, builds, bevents, arts, provides insertBuf
	refs.start("zuul_ref (id, project, ref, ref_url, `change`, patchset, oldrev, newrev, branch)")
	bsets.start("zuul_buildset (id, uuid, zuul_ref, pipeline, result, message, tenant, event_id, event_timestamp, first_build_start_time, last_build_end_time, updated)")
	bsrefs.start("zuul_buildset_ref (buildset_id, ref_id)")
	bsevents.start("zuul_buildset_event (id, buildset_id, event_time, event_type, description)")
	builds.start("zuul_build (id, buildset_id, uuid, job_name, result, start_time, end_time, voting, log_url, error_detail, final, held, nodeset, ref_id)")
	bevents.start("zuul_build_event (id, build_id, event_time, event_type, description)")
	arts.start("zuul_artifact (id, build_id, name, url, meta)")
	provides.start("zuul_provides (id, build_id, name)")
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		bs := c*chunkBuildsets + i + 1
		tenant := tenants[r.IntN(len(tenants))]
		pipeline := pipelines[r.IntN(len(pipelines))]
		project := projects[r.IntN(len(projects))]
		change := 800000 + r.IntN(200000)
		ps := 1 + r.IntN(20)
		ref := fmt.Sprintf("refs/changes/%02d/%d/%d", change%100, change, ps)
		newrev := hexString(r, 40)
		t0 := base.Add(time.Duration(bs) * 17 * time.Second)
		refs.row(bs, q(project), q(ref), q(fmt.Sprintf("https://review.opendev.org/c/%s/+/%d", project, change)),
			strconv.Itoa(change), q(strconv.Itoa(ps)), "NULL", q(newrev), q("master"))
		uuid := uuidString(r)
		result := results[r.IntN(len(results))]
		nb := 1 + r.IntN(maxBuilds)
		end := t0.Add(time.Duration(600+r.IntN(7200)) * time.Second)
		bsets.row(bs, q(uuid), q(ref), q(pipeline), q(result),
			q(fmt.Sprintf("Build %s (%s pipeline).  For information on how to proceed, see https://docs.opendev.org/opendev/infra-manual/latest/developers.html#automated-testing", strings.ToLower(result), pipeline)),
			q(tenant), q(hexString(r, 32)), q(dt(t0.Add(-30*time.Second))), q(dt(t0)), q(dt(end)), q(dt(end)))
		bsrefs.row2(bs, bs)
		if r.IntN(10) == 0 {
			bsevents.row(bs, strconv.FormatInt(bs, 10), q(dt(t0)), q(eventTypes[r.IntN(len(eventTypes))]), q("Dequeued by a new patchset of change "+strconv.Itoa(change)))
		}
		for j := range int64(nb) {
			id := bs*maxBuilds + j
			job := jobs[r.IntN(len(jobs))]
			bres := results[r.IntN(len(results))]
			st := t0.Add(time.Duration(r.IntN(300)) * time.Second)
			et := st.Add(time.Duration(60+r.IntN(5400)) * time.Second)
			buuid := hexString(r, 32)
			logURL := fmt.Sprintf("https://%s.ord1.zuul.opendev.org/logs/%s/%d/%d/%s/%s/%s/", hexString(r, 3), buuid[:3], change, ps, pipeline, job, buuid[:7])
			errDetail := "NULL"
			if bres != "SUCCESS" && r.IntN(3) == 0 {
				errDetail = q("Ansible task failed: TASK [run-tox : Run tox testenv] on ubuntu-jammy | " + hexString(r, 24))
			}
			builds.row(id, strconv.FormatInt(bs, 10), q(buuid), q(job), q(bres), q(dt(st)), q(dt(et)),
				strconv.Itoa(boolInt(r.IntN(8) != 0)), q(logURL), errDetail, "1", strconv.Itoa(boolInt(r.IntN(500) == 0)),
				q(nodesets[r.IntN(len(nodesets))]), strconv.FormatInt(bs, 10))
			if bres == "RETRY_LIMIT" || r.IntN(20) == 0 {
				bevents.row(id, strconv.FormatInt(id, 10), q(dt(st)), q("retry"), q("Build retried after pre-run failure on node "+hexString(r, 8)))
			}
			na := r.IntN(4)
			for k := range int64(na) {
				name := artifacts[r.IntN(len(artifacts))]
				arts.row(id*maxArtifacts+k, strconv.FormatInt(id, 10), q(name), q(logURL+"zuul-manifest.json"),
					q(`{"type": "zuul_manifest", "metadata": {"index_links": true, "name": "`+name+`"}}`))
			}
			if r.IntN(6) == 0 {
				provides.row(id, strconv.FormatInt(id, 10), q("tox-venv-"+job))
			}
		}
	}
	for _, b := range []*insertBuf{&refs, &bsets, &bsrefs, &bsevents, &builds, &bevents, &arts, &provides} {
		if b.rows == 0 {
			continue
		}
		if _, err := conn.ExecContext(ctx, b.String()); err != nil {
			return fmt.Errorf("%.40s: %w", b.String(), err)
		}
	}
	return nil
}

type insertBuf struct {
	strings.Builder
	rows int
}

func (b *insertBuf) start(head string) {
	b.Grow(1 << 20)
	b.WriteString("INSERT INTO ")
	b.WriteString(head)
	b.WriteString(" VALUES ")
}

func (b *insertBuf) sep() {
	if b.rows > 0 {
		b.WriteByte(',')
	}
	b.rows++
}

func (b *insertBuf) row(id int64, vals ...string) {
	b.sep()
	b.WriteByte('(')
	b.WriteString(strconv.FormatInt(id, 10))
	for _, v := range vals {
		b.WriteByte(',')
		b.WriteString(v)
	}
	b.WriteByte(')')
}

func (b *insertBuf) row2(x, y int64) {
	b.sep()
	fmt.Fprintf(b, "(%d,%d)", x, y)
}

// q quotes a string literal (the generated text has no NUL or newlines).
func q(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func dt(t time.Time) string { return t.Format("2006-01-02 15:04:05") }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const hexDigits = "0123456789abcdef"

func hexString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

func uuidString(r *rand.Rand) string {
	h := hexString(r, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:]
}
