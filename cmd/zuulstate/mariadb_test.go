package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
)

// mariadbFixture is a config file with a local repository, sources.mariadb
// on the prod server and restore.mariadb on the dev server, with a torture
// database on prod.
type mariadbFixture struct {
	*fixture
	prod, dev     *sql.DB
	src           string // database on prod
	prodAddr      string
	devAddr       string
	user, pw      string
	pwFile        string
	chunkRows     int
	databases     []string
	passwordInEnv bool
}

func newMariaDBFixture(t *testing.T) *mariadbFixture {
	t.Helper()
	pc, dc := mariadbtest.Config(t, "prod"), mariadbtest.Config(t, "dev")
	f := &mariadbFixture{fixture: &fixture{dir: t.TempDir()}, prodAddr: pc.Addr, devAddr: dc.Addr, user: pc.User, pw: pc.Passwd, chunkRows: 5}
	f.repo = filepath.Join(f.dir, "repo")
	if err := os.MkdirAll(f.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	f.prod, f.dev = mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	f.src = mariadbtest.CreateDB(t, f.prod, "zs_cli")
	f.databases = []string{f.src}
	f.pwFile = filepath.Join(f.dir, "mariadb.password")
	if err := os.WriteFile(f.pwFile, []byte(f.pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.write(t)
	return f
}

// write (re)writes the config file: the password in password_file, or, with
// passwordInEnv, in ZUULSTATE_MARIADB_PASSWORD only.
func (f *mariadbFixture) write(t *testing.T) {
	t.Helper()
	pw := "    password_file: " + f.pwFile + "\n"
	if f.passwordInEnv {
		pw = ""
	}
	f.writeConfig(t, fmt.Sprintf(`repository:
  local:
    path: %s
sources:
  mariadb:
    addr: %s
    user: %s
%s    databases: [%s]
    workers: 2
    chunk_rows: %d
restore:
  mariadb:
    addr: %s
`, f.repo, f.prodAddr, f.user, pw, strings.Join(f.databases, ", "), f.chunkRows, f.devAddr))
	if f.passwordInEnv {
		f.env = append(f.env, "ZUULSTATE_MARIADB_PASSWORD="+f.pw)
	}
}

// dropOnDev drops database name on dev when the test ends.
func (f *mariadbFixture) dropOnDev(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := f.dev.ExecContext(context.WithoutCancel(t.Context()), "DROP DATABASE IF EXISTS "+mariadbtest.QuoteIdent(name)); err != nil {
			t.Errorf("drop %s on dev: %v", name, err)
		}
	})
}

func (f *mariadbFixture) existsOnDev(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := f.dev.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// expectNoSnapshot checks that the repository holds no snapshot, no lock and
// no part.
func (f *mariadbFixture) expectNoSnapshot(t *testing.T) {
	t.Helper()
	r := f.run(t, "snapshots")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "0 snapshots") {
		t.Errorf("a snapshot appeared:\n%s", r.stdout)
	}
	r = f.run(t, "unlock")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "no locks") {
		t.Errorf("lock left behind: %s", r.stdout)
	}
	_ = filepath.WalkDir(f.repo, func(p string, d fs.DirEntry, err error) error {
		// status/last-run.json records the failed run for monitoring.
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) != "status" {
			t.Errorf("failed backup left %s", p)
		}
		return nil
	})
}

// TestMariaDBBackupRestoreCLI runs the mariadb source through the binary:
// backup (password from password_file), snapshots, restore --dry-run
// (prints the plan, creates nothing), restore with --db-map (prints the row
// counts; the copy equals the source), a second restore refused with exit
// code 7 that changes nothing, and --force; then the same with the password
// in ZUULSTATE_MARIADB_PASSWORD, and a restore with a wrong restore password.
func TestMariaDBBackupRestoreCLI(t *testing.T) {
	f := newMariaDBFixture(t)
	mariadbtest.LoadTorture(t, f.prod, f.src)
	dst := f.src + "_dst"
	f.dropOnDev(t, dst)
	dbMap := "--db-map=" + f.src + "=" + dst

	r := f.run(t, "backup")
	r.expectOK(t)
	id := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, "lock_mode=backup_stage") {
		t.Errorf("backup log does not report the lock mode:\n%s", r.stderr)
	}
	r = f.run(t, "snapshots")
	r.expectOK(t)
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "1 snapshots") {
		t.Fatalf("snapshots:\n%s", r.stdout)
	}
	r = f.run(t, "show", "latest")
	r.expectOK(t)
	for _, part := range []string{f.src + ".schema", f.src + ".post", f.src + ".types.data"} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("show latest lacks part %s:\n%s", part, r.stdout)
		}
	}

	r = f.run(t, "restore", "latest", dbMap, "--dry-run")
	r.expectOK(t)
	t.Logf("dry run:\n%s", r.stdout)
	for _, want := range []string{
		"create database " + dst + " on " + f.devAddr + " (from " + f.src + ")",
		"load table " + f.src + ".types (",
		"create 2 views, 1 triggers, 1 procedures, 1 functions, 1 events in " + dst,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run does not say %q", want)
		}
	}
	if f.existsOnDev(t, dst) {
		t.Fatalf("--dry-run created database %s", dst)
	}

	r = f.run(t, "restore", "latest", dbMap)
	r.expectOK(t)
	t.Logf("restore:\n%s", r.stdout)
	checkRowTable(t, r.stdout, dst)
	mariadbtest.Compare(t, f.prod, f.src, f.dev, dst)

	// Again without --force: refused, and nothing changes. A marker table
	// in the target shows that it was neither dropped nor loaded into.
	mariadbtest.Exec(t, f.dev, "CREATE TABLE "+mariadbtest.QuoteIdent(dst)+".zz_marker (id INT PRIMARY KEY)")
	mariadbtest.Exec(t, f.dev, "INSERT INTO "+mariadbtest.QuoteIdent(dst)+".zz_marker VALUES (42)")
	f.run(t, "restore", "latest", dbMap).expectFail(t, exitTargetFull, "not empty", dst, "--force")
	ms, err := mariadbtest.Diff(t.Context(), f.prod, f.src, f.dev, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Object != "zz_marker" {
			t.Errorf("the refused restore changed the target: %s", m)
		}
	}
	if len(ms) == 0 {
		t.Error("the refused restore dropped the marker table")
	}

	r = f.run(t, "restore", "latest", dbMap, "--force")
	r.expectOK(t)
	if !strings.Contains(r.stderr, "dropping database "+dst) {
		t.Errorf("--force did not say it drops %s:\n%s", dst, r.stderr)
	}
	checkRowTable(t, r.stdout, dst)
	mariadbtest.Compare(t, f.prod, f.src, f.dev, dst)

	// The password from the environment only.
	f.passwordInEnv = true
	f.write(t)
	r = f.run(t, "backup")
	r.expectOK(t)
	if id2 := strings.TrimSpace(r.stdout); id2 == id || id2 != latestID(t, f.fixture) {
		t.Fatalf("second backup printed %q (first %s, latest %s)", id2, id, latestID(t, f.fixture))
	}
	r = f.run(t, "restore", "latest", dbMap, "--force", "--quiet")
	r.expectOK(t)
	mariadbtest.Compare(t, f.prod, f.src, f.dev, dst)

	// A wrong restore password: one error line, no password, and the
	// target is left alone.
	const wrong = "Wrong-Restore-Pw-9931"
	f.env = append(f.env, "ZUULSTATE_MARIADB_RESTORE_PASSWORD="+wrong)
	r = f.run(t, "restore", "latest", dbMap, "--force", "--quiet")
	r.expectFail(t, exitFailure, "Access denied", f.devAddr)
	noSecrets(t, r, wrong, f.pw)
	mariadbtest.Compare(t, f.prod, f.src, f.dev, dst)
}

// checkRowTable checks the row count summary a mariadb restore prints.
func checkRowTable(t *testing.T, stdout, dst string) {
	t.Helper()
	if !strings.Contains(stdout, "expected") || !strings.Contains(stdout, "restored") || strings.Contains(stdout, "MISMATCH") {
		t.Errorf("restore did not print a clean row count table:\n%s", stdout)
	}
	var tables int
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[0] == dst && f[4] == "ok" && f[2] == f[3] {
			tables++
		}
	}
	if tables < 10 {
		t.Errorf("row count table lists %d tables of %s as ok:\n%s", tables, dst, stdout)
	}
}

// noSecrets fails if a password shows up anywhere in the output.
func noSecrets(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output contains a password:\n%s\n%s", r.stdout, r.stderr)
		}
	}
}

// TestMariaDBWrongPassword: a wrong password, from password_file or from
// the environment (which wins over the file), fails the backup with one
// error line naming the server and the user, never the password, and leaves
// no snapshot.
func TestMariaDBWrongPassword(t *testing.T) {
	f := newMariaDBFixture(t)
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+mariadbtest.QuoteIdent(f.src)+".t (id INT PRIMARY KEY)")
	good := f.pw
	const wrong = "Not-The-Password-7731"
	f.pw = wrong
	if err := os.WriteFile(f.pwFile, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []bool{false, true} {
		f.passwordInEnv = env
		f.write(t)
		r := f.run(t, "backup", "--quiet")
		r.expectFail(t, exitFailure, "source mariadb", f.user+"@"+f.prodAddr, "Access denied")
		if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
			t.Errorf("--quiet backup printed %d lines on stderr, want the error line only:\n%s", len(lines), r.stderr)
		}
		noSecrets(t, r, wrong, good)
		f.expectNoSnapshot(t)
	}
	// The environment wins over a good password_file.
	if err := os.WriteFile(f.pwFile, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.passwordInEnv = false
	f.write(t)
	f.env = append(f.env, "ZUULSTATE_MARIADB_PASSWORD="+wrong)
	r := f.run(t, "backup", "--quiet")
	r.expectFail(t, exitFailure, "Access denied")
	noSecrets(t, r, wrong, good)
	f.expectNoSnapshot(t)
}

// TestMariaDBUnknownDatabase: a database in sources.mariadb.databases that
// does not exist fails the backup before anything is written, naming it.
func TestMariaDBUnknownDatabase(t *testing.T) {
	f := newMariaDBFixture(t)
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+mariadbtest.QuoteIdent(f.src)+".t (id INT PRIMARY KEY)")
	missing := f.src + "_missing"
	f.databases = []string{f.src, missing}
	f.write(t)
	r := f.run(t, "backup")
	r.expectFail(t, exitFailure, "source mariadb", missing, "does not exist")
	f.expectNoSnapshot(t)
}

// TestMariaDBBackupWithGrants: backup --with-grants stores the users and
// grants on the dumped database, and restore --with-grants --db-map creates
// them on the target with the grants moved to the renamed database.
func TestMariaDBBackupWithGrants(t *testing.T) {
	if h := run(t, nil, "backup", "--help"); !strings.Contains(h.stdout, "--with-grants") {
		t.Skip("zuulstate backup has no --with-grants flag (sources.mariadb.with_grants only)")
	}
	f := newMariaDBFixture(t)
	q := mariadbtest.QuoteIdent(f.src)
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+q+".t (id INT PRIMARY KEY)")
	mariadbtest.Exec(t, f.prod, "INSERT INTO "+q+".t VALUES (1), (2)")
	account := f.src + "_ro"
	for _, db := range []*sql.DB{f.prod, f.dev} {
		t.Cleanup(func() {
			if _, err := db.ExecContext(context.WithoutCancel(t.Context()), "DROP USER IF EXISTS '"+account+"'@'%'"); err != nil {
				t.Errorf("drop user %s: %v", account, err)
			}
		})
	}
	mariadbtest.Exec(t, f.prod, "CREATE USER '"+account+"'@'%' IDENTIFIED BY 'ro-Secret-5521'")
	mariadbtest.Exec(t, f.prod, "GRANT SELECT, SHOW VIEW ON "+q+".* TO '"+account+"'@'%'")
	dst := f.src + "_dst"
	f.dropOnDev(t, dst)

	f.run(t, "backup", "--with-grants", "--quiet").expectOK(t)
	r := f.run(t, "show", "latest")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "grants") {
		t.Fatalf("backup --with-grants stored no grants part:\n%s", r.stdout)
	}
	r = f.run(t, "restore", "latest", "--db-map", f.src+"="+dst, "--with-grants")
	r.expectOK(t)
	var grants []string
	rows, err := f.dev.QueryContext(t.Context(), "SHOW GRANTS FOR '"+account+"'@'%'")
	if err != nil {
		t.Fatalf("the account was not created on dev: %v\n%s", err, r.stderr)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
	}
	joined := strings.Join(grants, "\n")
	if !strings.Contains(joined, "GRANT SELECT, SHOW VIEW ON "+mariadbtest.QuoteIdent(dst)+".*") || strings.Contains(joined, f.src+"`.*") {
		t.Errorf("grants on dev:\n%s", joined)
	}
	// The account logs in on dev with its password and reads the copy.
	cfg := mariadbtest.Config(t, "dev")
	cfg.User, cfg.Passwd = account, "ro-Secret-5521"
	ro, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+mariadbtest.QuoteIdent(dst)+".t").Scan(&n); err != nil || n != 2 {
		t.Errorf("the restored account reads %d rows of %s.t: %v", n, dst, err)
	}
}
