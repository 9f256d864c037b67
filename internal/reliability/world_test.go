package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// world is a Zuul-like deployment with every source configured: a host
// directory (paths), a database on the prod MariaDB, a Zuul-shaped tree on
// the prod ZooKeeper over TLS, and a running container with two volumes
// that the backup stops for a cold copy (one static, compared after a
// restore; one the container keeps rewriting).
type world struct {
	dir, config string
	repoYAML    string   // the repository: section
	env         []string // ZUULSTATE_CONFIG and secrets
	lockTTL     string   // repository.lock_ttl

	paths      string
	prod, dev  *sql.DB
	db         string
	mariaAddr  string // sources.mariadb.addr; tests may point it elsewhere
	zkProd     zktest.Server
	zkAddr     string // sources.zookeeper.servers[0]
	pchr       string
	dockerHost string
	eng        *engine.Engine
	static     string // volume compared after restore
	staticMP   string
	writer     string // container id, stop: true
	writerName string
	extraYAML  string // appended under sources.volumes
}

// size scales the data: bytes of the paths tree and the static volume,
// rows of the database.
type size struct {
	files, fileBytes int
	rows             int
	projects         int
}

var small = size{files: 40, fileBytes: 64 << 10, rows: 20000, projects: 20}

func newWorld(t *testing.T, sz size) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), lockTTL: "30m"}
	w.config = filepath.Join(w.dir, "zuulstate.yaml")

	w.paths = filepath.Join(w.dir, "opt-zuul-certs")
	writeFiles(t, w.paths, sz, 1)

	w.prod, w.dev = mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	w.mariaAddr = mariadbtest.Config(t, "prod").Addr
	w.db = mariadbtest.CreateDB(t, w.prod, "zs_rel")
	fillDB(t, w.prod, w.db, sz.rows)

	w.zkProd = zktest.Server{Which: "prod", TLS: true}
	w.zkAddr = w.zkProd.Addr(t)
	w.pchr = w.zkProd.Chroot(t)
	zktest.Build(t, w.zkProd.Connect(t, w.pchr), zktest.ZuulTree(zktest.ZuulShape{Projects: sz.projects, NodepoolNodes: 10, Requests: 10, ZuulNodes: 10, Images: 2}))

	w.dockerHost = voltest.Host(t)
	w.eng = voltest.Engine(t)
	w.static, w.staticMP = voltest.Volume(t, w.eng, volume.CreateOptions{})
	writeFiles(t, w.staticMP, sz, 2)
	busy, _ := voltest.Volume(t, w.eng, volume.CreateOptions{})
	w.writer, w.writerName = voltest.Container(t, w.eng, voltest.WriterImage(t, w.eng), []mount.Mount{
		{Type: mount.TypeVolume, Source: busy, Target: "/data"},
		{Type: mount.TypeVolume, Source: w.static, Target: "/static", ReadOnly: true},
	}, nil)
	if err := w.eng.API.ContainerStart(t.Context(), w.writer, containerStart); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeStopMarks(w.eng, w.writer) })
	return w
}

// local makes the repository a fresh local directory.
func (w *world) local(t *testing.T, dir string) string {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(w.dir, "repo")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w.repoYAML = "  local: {path: " + dir + "}\n"
	return dir
}

// s3 makes the repository a fresh prefix of the dev-services MinIO (or of
// endpoint, a proxy or private server with the same credentials, when set)
// and returns the prefix.
func (w *world) s3(t *testing.T, endpoint string, extra string) string {
	t.Helper()
	tls := "    ca_file: " + testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE") + "\n"
	if endpoint == "" {
		endpoint = testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT")
	} else {
		tls = "    insecure: true\n" // a proxy or private server on loopback, plain HTTP
	}
	prefix := fmt.Sprintf("reliability-%s-%d/", strings.ReplaceAll(t.Name(), "/", "-"), rand.Uint32())
	w.repoYAML = fmt.Sprintf("  s3:\n    endpoint: %s\n    bucket: %s\n    prefix: %s\n%s    lookup: path\n    part_size: 5MiB\n%s",
		endpoint, testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"), prefix, tls, extra)
	t.Cleanup(func() { deletePrefix(t, prefix) })
	return prefix
}

// write renders the configuration; restoreZK is the restore target's
// chroot on the dev ZooKeeper.
func (w *world) write(t *testing.T, restoreZK string) {
	t.Helper()
	ca, cert, key := zktest.TLSFiles(t)
	mc := mariadbtest.Config(t, "prod")
	zkDev := zktest.Server{Which: "dev", TLS: true}
	y := fmt.Sprintf(`repository:
%s  lock_ttl: %s
sources:
  paths:
    - name: certs
      path: %s
  mariadb:
    addr: %s
    user: %s
    databases: [%s]
    workers: 2
    chunk_rows: 2000
  zookeeper:
    servers: [%s]
    chroot: %s
    connect_timeout: 5s
    tls: {ca_file: %s, cert_file: %s, key_file: %s}
    auth: {user: %s}
  volumes:
    docker: {host: %s}
    stop_timeout: 5s
    containers:
      - name: %s
        stop: true
%srestore:
  mariadb:
    addr: %s
  zookeeper:
    servers: [%s]
    chroot: %s
  volumes:
    helper_binary: %s
`, w.repoYAML, w.lockTTL, w.paths, w.mariaAddr, mc.User, w.db, w.zkAddr, w.pchr, ca, cert, key, zktest.DigestUser,
		w.dockerHost, w.writerName, w.extraYAML, mariadbtest.Config(t, "dev").Addr, zkDev.Addr(t), restoreZK, voltest.Zuulstate(t))
	if err := os.WriteFile(w.config, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env = []string{"ZUULSTATE_CONFIG=" + w.config, "ZUULSTATE_MARIADB_PASSWORD=" + mc.Passwd,
		"ZUULSTATE_MARIADB_RESTORE_PASSWORD=" + mariadbtest.Config(t, "dev").Passwd,
		"ZUULSTATE_ZOOKEEPER_PASSWORD=" + zktest.DigestPassword, "ZUULSTATE_ZOOKEEPER_RESTORE_PASSWORD=" + zktest.DigestPassword,
		"ZUULSTATE_S3_ACCESS_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_ACCESS_KEY"), "ZUULSTATE_S3_SECRET_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_SECRET_KEY")}
}

func (w *world) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, w.env, args...)
}

// running reports whether the cold-copied container runs.
func (w *world) running(t *testing.T) bool {
	t.Helper()
	return voltest.Running(t, w.eng, w.writer)
}

// restoreAndCompare restores snapshot id into fresh targets (a directory,
// a database on dev, a chroot on the dev ZooKeeper, new volumes) and
// compares each with its source.
func (w *world) restoreAndCompare(t *testing.T, id string) {
	t.Helper()
	zkDev := zktest.Server{Which: "dev", TLS: true}
	dchr := zkDev.Chroot(t)
	w.write(t, dchr)
	defer w.write(t, "/unused")
	target := filepath.Join(t.TempDir(), "restore")
	dstDB := fmt.Sprintf("%s_r%d", w.db, rand.Uint32())
	t.Cleanup(func() {
		_, _ = w.dev.ExecContext(context.WithoutCancel(t.Context()), "DROP DATABASE IF EXISTS "+mariadbtest.QuoteIdent(dstDB))
	})
	staticDst, busyDst := voltest.Name("zsrel-static"), voltest.Name("zsrel-busy")
	t.Cleanup(func() { voltest.RemoveVolume(t, w.eng, staticDst); voltest.RemoveVolume(t, w.eng, busyDst) })
	ins, err := w.eng.API.ContainerInspect(t.Context(), w.writer)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"restore", id, "--paths-dir", target, "--db-map", w.db + "=" + dstDB}
	for _, m := range ins.Mounts {
		dst := busyDst
		if m.Name == w.static {
			dst = staticDst
		}
		args = append(args, "--volume-map", m.Name+"="+dst)
	}
	w.run(t, args...).expectOK(t, "restore "+id)

	voltest.Compare(t, voltest.Scan(t, w.paths), voltest.Scan(t, filepath.Join(target, "certs")))
	mariadbtest.Compare(t, w.prod, w.db, w.dev, dstDB)
	// The zuul profile's subtrees; /zuul (runtime state) is not backed up.
	pc, dc := w.zkProd.Connect(t, w.pchr), zkDev.Connect(t, dchr)
	for _, sub := range []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul-system"} {
		if d := zktest.Diff(zktest.Dump(t, pc, sub), zktest.Dump(t, dc, sub)); len(d) > 0 {
			t.Errorf("zookeeper restore of %s differs in %s: %v", id, sub, d)
		}
	}
	v, err := w.eng.API.VolumeInspect(t.Context(), staticDst)
	if err != nil {
		t.Fatal(err)
	}
	voltest.Compare(t, voltest.Scan(t, w.staticMP), voltest.Scan(t, v.Mountpoint))
}

// writeFiles fills dir with sz.files files of up to sz.fileBytes random
// bytes in a few directories, plus a symlink, a hardlink and an empty
// directory.
func writeFiles(t *testing.T, dir string, sz size, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range sz.files {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rng.IntN(sz.fileBytes+1))
		for j := range b {
			b[j] = byte(rng.IntN(16)) // compressible, like logs
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range []error{
		os.Symlink("d0/f0000", filepath.Join(dir, "link")),
		os.Link(filepath.Join(dir, "d0", "f0000"), filepath.Join(dir, "hard")),
		os.Mkdir(filepath.Join(dir, "empty"), 0o700),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// fillDB creates two tables with rows rows in all, a view and a trigger.
func fillDB(t *testing.T, db *sql.DB, name string, rows int) {
	t.Helper()
	q := mariadbtest.QuoteIdent(name)
	mariadbtest.Exec(t, db, "CREATE TABLE "+q+".zuul_build (id INT PRIMARY KEY AUTO_INCREMENT, uuid CHAR(32), job VARCHAR(255), result VARCHAR(32), log_url TEXT, start_time DATETIME(6)) ENGINE=InnoDB")
	mariadbtest.Exec(t, db, "CREATE TABLE "+q+".zuul_artifact (id INT PRIMARY KEY AUTO_INCREMENT, build_id INT, name VARCHAR(255), url TEXT, meta BLOB, KEY (build_id)) ENGINE=InnoDB")
	mariadbtest.Exec(t, db, "CREATE VIEW "+q+".failed AS SELECT id, job FROM "+q+".zuul_build WHERE result = 'FAILURE'")
	for done := 0; done < rows; {
		var b strings.Builder
		n := min(1000, rows-done)
		b.WriteString("INSERT INTO " + q + ".zuul_build (uuid, job, result, log_url, start_time) VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(MD5(%d), 'job-%d', '%s', 'https://logs.example.org/%d/', '2026-01-01 00:00:00.%06d' + INTERVAL %d MINUTE)",
				done+i, (done+i)%97, []string{"SUCCESS", "FAILURE", "RETRY_LIMIT"}[(done+i)%3], done+i, (done+i)%1000000, done+i)
		}
		mariadbtest.Exec(t, db, b.String())
		mariadbtest.Exec(t, db, "INSERT INTO "+q+".zuul_artifact (build_id, name, url, meta) SELECT id, 'log', log_url, UNHEX(MD5(id)) FROM "+q+".zuul_build WHERE id > ?", done)
		done += n
	}
}
