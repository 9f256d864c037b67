package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// allFixture is a configuration with every source on the prod services
// and a "dev" target on the dev services with maps and profile dev.
type allFixture struct {
	*fixture
	prod, dev          *sql.DB
	srcDB, dstDB       string
	prodZK, devZK      zktest.Server
	pchr, dchr         string
	eng                *engine.Engine
	vol, volMP, dstVol string
	pathsDir           string
	devAddr            string
}

func newAllFixture(t *testing.T) *allFixture {
	t.Helper()
	pc, dc := mariadbtest.Config(t, "prod"), mariadbtest.Config(t, "dev")
	f := &allFixture{fixture: &fixture{dir: t.TempDir()}, devAddr: dc.Addr,
		prodZK: zktest.Server{Which: "prod", TLS: true}, devZK: zktest.Server{Which: "dev", TLS: true}}
	f.repo, f.data = filepath.Join(f.dir, "repo"), filepath.Join(f.dir, "data")
	f.pathsDir = filepath.Join(f.dir, "devpaths")
	writeTree(t, f.data)
	if err := os.MkdirAll(f.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	f.prod, f.dev = mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	f.srcDB = mariadbtest.CreateDB(t, f.prod, "zs_target")
	f.dstDB = f.srcDB + "_dev"
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+mariadbtest.QuoteIdent(f.srcDB)+".zuul_build (id INT PRIMARY KEY, result VARCHAR(20))")
	for i := range 25 {
		mariadbtest.Exec(t, f.prod, "INSERT INTO "+mariadbtest.QuoteIdent(f.srcDB)+".zuul_build VALUES (?, 'SUCCESS')", i)
	}
	t.Cleanup(func() { _, _ = f.dev.Exec("DROP DATABASE IF EXISTS " + mariadbtest.QuoteIdent(f.dstDB)) })

	f.pchr, f.dchr = f.prodZK.Chroot(t), f.devZK.Chroot(t)
	zktest.Build(t, f.prodZK.Connect(t, f.pchr), zktest.ZuulTree(zktest.ZuulShape{Projects: 10, NodepoolNodes: 5, Requests: 5, ZuulNodes: 5, Images: 1}))

	f.eng = voltest.Engine(t)
	f.vol, f.volMP = voltest.Volume(t, f.eng, volume.CreateOptions{})
	writeTree(t, f.volMP)
	f.dstVol = voltest.Name("zstest-devlog")
	t.Cleanup(func() { voltest.RemoveVolume(t, f.eng, f.dstVol) })

	ca, cert, key := zktest.TLSFiles(t)
	f.writeConfig(t, fmt.Sprintf(`repository:
  local: {path: %s}
sources:
  paths:
    - {name: conf, path: %s}
  mariadb:
    addr: %s
    user: %s
    databases: [%s]
  zookeeper:
    servers: [%s]
    chroot: %s
    connect_timeout: 5s
    tls: {ca_file: %s, cert_file: %s, key_file: %s}
    auth: {user: %s}
  volumes:
    stop_timeout: 5s
    volumes:
      - name: %s
targets:
  dev:
    profile: dev
    paths: {dir: %s}
    mariadb:
      addr: %s
      db_map: {%s: %s}
    zookeeper:
      servers: [%s]
      chroot: %s
    volumes:
      helper_binary: %s
      volume_map: {%s: %s}
`, f.repo, f.data, pc.Addr, pc.User, f.srcDB, f.prodZK.Addr(t), f.pchr, ca, cert, key, zktest.DigestUser, f.vol,
		f.pathsDir, dc.Addr, f.srcDB, f.dstDB, f.devZK.Addr(t), f.dchr, voltest.Zuulstate(t), f.vol, f.dstVol))
	// The target's password comes only from the environment variable of
	// restore targets; the source's from its own.
	f.env = append(f.env, "ZUULSTATE_ZOOKEEPER_PASSWORD="+zkPassword, "DOCKER_HOST="+voltest.Host(t),
		"ZUULSTATE_MARIADB_PASSWORD="+pc.Passwd, "ZUULSTATE_MARIADB_RESTORE_PASSWORD="+dc.Passwd)
	return f
}

// nothingOnDev fails if any part reached the dev target.
func (f *allFixture) nothingOnDev(t *testing.T) {
	t.Helper()
	var n int
	if err := f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", f.dstDB).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s was created on dev", f.dstDB)
	}
	if _, err := f.eng.API.VolumeInspect(t.Context(), f.dstVol); err == nil {
		t.Errorf("volume %s was created", f.dstVol)
	}
	if _, err := os.Stat(f.pathsDir); err == nil {
		t.Errorf("%s was created", f.pathsDir)
	}
	if zktest.Exists(t, f.devZK.Connect(t, f.dchr), "/keystorage") {
		t.Errorf("/keystorage was created on the dev zookeeper")
	}
}

func inOrder(t *testing.T, out string, wants ...string) {
	t.Helper()
	at := 0
	for _, w := range wants {
		i := strings.Index(out[at:], w)
		if i < 0 {
			t.Fatalf("%q missing or out of order (after byte %d) in:\n%s", w, at, out)
		}
		at += i + len(w)
	}
}

// TestRestoreTargetDev restores a snapshot of every source into the "dev"
// target: the plan, --dry-run, an unknown target, a refused non-empty
// database (nothing written anywhere), --only, the restore order, the
// verification table, the next steps and the dev profile.
func TestRestoreTargetDev(t *testing.T) {
	f := newAllFixture(t)
	f.run(t, "backup").expectOK(t)

	r := f.run(t, "restore", "latest", "--target", "nope")
	r.expectFail(t, exitUsage, `no restore target "nope"`, "dev")
	f.run(t, "restore", "latest", "--target", "/srv/x").expectFail(t, exitUsage, "--paths-dir")

	r = f.run(t, "restore", "latest", "--target", "dev", "--dry-run")
	r.expectOK(t)
	t.Logf("plan:\n%s", r.stdout)
	inOrder(t, r.stdout, "Plan (dry run)", "target dev, profile dev",
		"1. volumes → docker engine", "create volume "+f.dstVol, "from "+f.vol,
		"2. paths → directory "+f.pathsDir, "extract into "+filepath.Join(f.pathsDir, "conf"),
		"3. mariadb → mariadb "+f.devAddr, f.srcDB+" → "+f.dstDB, "create database "+f.dstDB,
		"4. zookeeper → zookeeper", "profile dev", "create /keystorage on zookeeper",
		"dry run: nothing was written")
	for _, skip := range []string{"skip /nodepool (profile dev)", "skip /zuul-system (profile dev)"} {
		if !strings.Contains(r.stdout, skip) {
			t.Errorf("plan lacks %q", skip)
		}
	}
	f.nothingOnDev(t)

	// A non-empty database refuses the whole restore: the plan says why,
	// and nothing is written to any target.
	mariadbtest.Exec(t, f.dev, "CREATE DATABASE "+mariadbtest.QuoteIdent(f.dstDB))
	mariadbtest.Exec(t, f.dev, "CREATE TABLE "+mariadbtest.QuoteIdent(f.dstDB)+".x (i INT)")
	r = f.run(t, "restore", "latest", "--target", "dev")
	r.expectFail(t, exitTargetFull, "nothing was restored", f.dstDB, "--force")
	inOrder(t, r.stdout, "3. mariadb", "REFUSED mariadb/", "not empty")
	if strings.Contains(r.stdout, "Verification") {
		t.Errorf("a refused restore printed a verification table:\n%s", r.stdout)
	}
	r = f.run(t, "restore", "latest", "--target", "dev", "--dry-run")
	r.expectFail(t, exitTargetFull, f.dstDB)
	mariadbtest.Exec(t, f.dev, "DROP DATABASE "+mariadbtest.QuoteIdent(f.dstDB))
	f.nothingOnDev(t)

	// --only: files first, then the database and ZooKeeper.
	r = f.run(t, "restore", "latest", "--target", "dev", "--only", "volumes,paths")
	r.expectOK(t)
	if strings.Contains(r.stdout, "mariadb") || strings.Contains(r.stdout, "zookeeper") {
		t.Errorf("--only volumes,paths touched other sources:\n%s", r.stdout)
	}
	sameTree(t, f.data, filepath.Join(f.pathsDir, "conf"))
	v, err := f.eng.API.VolumeInspect(t.Context(), f.dstVol)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, f.volMP, v.Mountpoint)
	f.run(t, "restore", "latest", "--target", "dev", "--only", "nope").expectFail(t, exitUsage, "--only", "mariadb")

	r = f.run(t, "restore", "latest", "--target", "dev", "--only", "mariadb,zookeeper")
	r.expectOK(t)
	t.Logf("restore:\n%s\nlog:\n%s", r.stdout, r.stderr)
	inOrder(t, r.stdout, "Verification", "SOURCE", "mariadb", "rows "+f.dstDB+".zuul_build", "25", "25", "OK",
		"zookeeper", "tree", "znodes /keystorage", "OK", "Next steps", "keystore", "scheduler", "dev instance")
	if strings.Contains(r.stdout, "MISMATCH") {
		t.Errorf("verification mismatch:\n%s", r.stdout)
	}
	inOrder(t, r.stderr, "source=mariadb", "source=zookeeper")
	var rows int
	if err := f.dev.QueryRow("SELECT COUNT(*) FROM " + mariadbtest.QuoteIdent(f.dstDB) + ".zuul_build").Scan(&rows); err != nil || rows != 25 {
		t.Fatalf("rows on dev = %d, %v", rows, err)
	}
	dev := f.devZK.Connect(t, f.dchr)
	if !zktest.Exists(t, dev, "/keystorage") || !zktest.Exists(t, dev, "/keystorage-oidc/RS256") {
		t.Error("keys were not restored")
	}
	for _, p := range []string{"/zuul-system", "/nodepool"} {
		if zktest.Exists(t, dev, p) {
			t.Errorf("profile dev restored %s", p)
		}
	}

	// Everything again over what is there: the order is volumes, paths,
	// mariadb, zookeeper, and the table covers every source.
	r = f.run(t, "restore", "latest", "--target", "dev", "--force")
	r.expectOK(t)
	inOrder(t, r.stderr, "source=volumes", "source=paths", "source=mariadb", "source=zookeeper")
	inOrder(t, r.stdout, "Verification", "volumes", "files in volume "+f.dstVol, "OK", "paths", "conf", "files", "OK",
		"mariadb", "OK", "zookeeper", "OK", "Next steps")
	if strings.Contains(r.stdout, "MISMATCH") {
		t.Errorf("verification mismatch:\n%s", r.stdout)
	}
}
