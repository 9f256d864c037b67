package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
	"github.com/zuulstate/zuulstate/storage/local"
)

// drillFixture is allFixture (every source; a dev MariaDB, ZooKeeper and
// the shared engine) with a bind mount in the snapshot, a "drill" target
// on the dev services and metrics in a textfile and a Pushgateway.
type drillFixture struct {
	*allFixture
	bind      string
	textfile  string
	pushes    *pushLog
	localRepo bool
}

type pushLog struct {
	mu   sync.Mutex
	urls []string
}

func (p *pushLog) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.urls, "\n")
}

func newDrillFixture(t *testing.T, repoYAML string) *drillFixture {
	t.Helper()
	f := &drillFixture{allFixture: newAllFixture(t), pushes: &pushLog{}, localRepo: repoYAML == ""}
	f.bind = filepath.Join(f.dir, "opt-zuul-certs")
	writeTree(t, f.bind)
	img := voltest.WriterImage(t, f.eng)
	_, container := voltest.Container(t, f.eng, img, []mount.Mount{{Type: mount.TypeBind, Source: f.bind, Target: "/certs"}}, nil)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		f.pushes.mu.Lock()
		f.pushes.urls = append(f.pushes.urls, r.Method+" "+r.URL.Path)
		f.pushes.mu.Unlock()
	}))
	t.Cleanup(gw.Close)
	f.textfile = filepath.Join(f.dir, "metrics", "zuulstate.prom")
	if err := os.MkdirAll(filepath.Dir(f.textfile), 0o755); err != nil {
		t.Fatal(err)
	}
	c := readFile(t, f.config)
	if repoYAML != "" {
		c = strings.Replace(c, "repository:\n  local: {path: "+f.repo+"}\n", repoYAML, 1)
	}
	c = strings.Replace(c, "    volumes:\n      - name: "+f.vol+"\n", "    volumes:\n      - name: "+f.vol+"\n    containers:\n      - name: "+container+"\n", 1)
	c += fmt.Sprintf(`  drill:
    mariadb: {addr: %s}
    zookeeper: {servers: [%s], chroot: %s}
    volumes: {helper_binary: %s}
metrics:
  textfile: %s
  pushgateway: {url: %s}
`, f.devAddr, f.devZK.Addr(t), f.dchr, voltest.Zuulstate(t), f.textfile, gw.URL)
	if err := os.WriteFile(f.config, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// backup takes a snapshot and returns the prefix of its scratch names.
func (f *drillFixture) backup(t *testing.T) (id, prefix string) {
	t.Helper()
	r := f.run(t, "backup")
	r.expectOK(t)
	id = strings.TrimSpace(r.stdout)
	return id, source.DrillPrefix + id[strings.LastIndexByte(id, '-')+1:]
}

// scratch names the drill's places for the fixture's database, volume,
// chroot and directory.
type scratch struct{ database, volume, znode, dir string }

func (f *drillFixture) scratch(t *testing.T, prefix string) scratch {
	return scratch{
		database: source.ScratchNameFor(prefix, f.srcDB, "-", 64),
		volume:   source.ScratchNameFor(prefix, f.vol, "-.", 255),
		znode:    f.dchr + "/" + prefix,
		dir:      filepath.Join(f.dir, "state", "drill", prefix),
	}
}

// present lists which of the scratch places exist.
func (f *drillFixture) present(t *testing.T, s scratch) []string {
	t.Helper()
	var out []string
	var n int
	if err := f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", s.database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		out = append(out, "database")
	}
	if _, err := f.eng.API.VolumeInspect(t.Context(), s.volume); err == nil {
		out = append(out, "volume")
	}
	if zktest.Exists(t, f.devZK.Connect(t, ""), s.znode) {
		out = append(out, "znode")
	}
	if _, err := os.Lstat(s.dir); err == nil {
		out = append(out, "directory")
	}
	if _, err := os.Stat(filepath.Join(f.repo, "status", "drills", "drill.json")); err == nil && f.localRepo {
		out = append(out, "record")
	}
	return out
}

// prodOnTarget puts what carries prod's names on the drill's target: the
// snapshot's database name on the dev MariaDB, /keystorage and
// /zuul-system in the target's chroot (the volume and the directories are
// prod's own, on the same engine and machine). untouched checks them after.
func (f *drillFixture) prodOnTarget(t *testing.T) (untouched func()) {
	t.Helper()
	q := mariadbtest.QuoteIdent(f.srcDB)
	mariadbtest.Exec(t, f.dev, "CREATE DATABASE "+q)
	t.Cleanup(func() { _, _ = f.dev.Exec("DROP DATABASE IF EXISTS " + q) })
	mariadbtest.Exec(t, f.dev, "CREATE TABLE "+q+".zuul_build (id INT PRIMARY KEY, result VARCHAR(20))")
	mariadbtest.Exec(t, f.dev, "INSERT INTO "+q+".zuul_build VALUES (1, 'DEV'), (2, 'DEV')")
	dev := f.devZK.Connect(t, f.dchr)
	zktest.Build(t, dev, []zktest.Spec{{Path: "/keystorage", Data: []byte("dev keys")}, {Path: "/zuul-system", Data: []byte("dev system id")}})
	// The chroot's own counter of child creations moves with the drill's
	// node below it; the nodes with prod's names must not change at all.
	dump := func() []*zktree.Node {
		c := f.devZK.Connect(t, f.dchr)
		return append(zktest.Dump(t, c, "/keystorage"), zktest.Dump(t, c, "/zuul-system")...)
	}
	before := dump()
	v, err := f.eng.API.VolumeInspect(t.Context(), f.vol)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]string{}
	for name, dir := range map[string]string{"volume": v.Mountpoint, "bind": f.bind, "paths": f.data} {
		copies[dir] = filepath.Join(t.TempDir(), name)
		if out, err := exec.Command("cp", "-a", dir, copies[dir]).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
	}
	return func() {
		t.Helper()
		var rows []string
		r, err := f.dev.Query("SELECT CONCAT(id, result) FROM " + q + ".zuul_build ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			_ = r.Scan(&s)
			rows = append(rows, s)
		}
		r.Close()
		if strings.Join(rows, ",") != "1DEV,2DEV" {
			t.Errorf("the target's database %s changed: %v", f.srcDB, rows)
		}
		var tables int
		_ = f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", f.srcDB).Scan(&tables)
		if tables != 1 {
			t.Errorf("the target's database %s has %d tables, want 1", f.srcDB, tables)
		}
		if names, _, err := f.devZK.Connect(t, f.dchr).Children(t.Context(), "/"); err != nil || len(names) != 2 || !slices.Contains(names, "keystorage") || !slices.Contains(names, "zuul-system") {
			t.Errorf("the target's chroot holds %v (%v), want keystorage and zuul-system", names, err)
		}
		if d := zktest.Diff(before, dump()); len(d) > 0 {
			t.Errorf("the target's ZooKeeper tree changed:\n%s", strings.Join(d, "\n"))
		}
		for dir, copy := range copies {
			sameTree(t, copy, dir)
		}
		var n int
		_ = f.prod.QueryRow("SELECT COUNT(*) FROM " + q + ".zuul_build").Scan(&n)
		if n != 25 {
			t.Errorf("prod's database has %d rows, want 25", n)
		}
	}
}

// readDrillStatus reads status/last-drill.json of a local repository.
func readDrillStatus(t *testing.T, repo string) map[string]any {
	t.Helper()
	st, err := local.New(repo)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Get(t.Context(), "status/last-drill.json")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var m map[string]any
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDrill runs the drill against the real services with every source,
// an S3 repository and age encryption: refused while its scratch names
// exist (exit 7, nothing touched), then a drill that restores every part
// into scratch places, verifies them and removes them, with the target's
// own names (prod's names) untouched; its record, metrics and check.
func TestDrill(t *testing.T) {
	repoYAML, s3env := s3YAML(t)
	f := newDrillFixture(t, repoYAML)
	key := filepath.Join(f.dir, "age.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	c := strings.Replace(readFile(t, f.config), "repository:\n", "repository:\n  encryption:\n    recipients: ["+strings.TrimSpace(r.stdout)+"]\n    identity_file: "+key+"\n", 1)
	if err := os.WriteFile(f.config, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env = append(f.env, s3env...)
	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 2, "no restore drill recorded")
	id, prefix := f.backup(t)
	sc := f.scratch(t, prefix)
	untouched := f.prodOnTarget(t)

	// Names that look like this drill's but are not its leftovers: refused
	// with the names, exit 7, nothing created or removed.
	q := mariadbtest.QuoteIdent(sc.database)
	mariadbtest.Exec(t, f.dev, "CREATE DATABASE "+q)
	mariadbtest.Exec(t, f.dev, "CREATE TABLE "+q+".mine (i INT)")
	_, _ = voltest.Volume(t, f.eng, volumeNamed(sc.volume))
	r = f.run(t, "drill", "--target", "drill")
	r.expectFail(t, exitTargetFull, "database "+sc.database, "volume "+sc.volume, "nothing was touched")
	if got := strings.Join(f.present(t, sc), ","); got != "database,volume" {
		t.Errorf("after a refused drill: %s present, want database,volume", got)
	}
	untouched()
	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 2, "no restore drill has succeeded", "exist already")
	mariadbtest.Exec(t, f.dev, "DROP DATABASE "+q)
	voltest.RemoveVolume(t, f.eng, sc.volume)

	r = f.run(t, "drill", "--target", "drill")
	r.expectOK(t)
	t.Logf("drill:\n%s\n%s", r.stdout, r.stderr)
	inOrder(t, r.stdout, "Drill: restore snapshot "+id, "target drill",
		"1. volumes", "use empty bind "+filepath.Join(sc.dir, "binds", f.bind), "create volume "+sc.volume, "2. paths → directory "+filepath.Join(sc.dir, "paths"),
		"3. mariadb", "create database "+sc.database, "4. zookeeper", "chroot "+sc.znode,
		"Verification", "volumes", "files in bind "+filepath.Join(sc.dir, "binds", f.bind), "files in volume "+sc.volume,
		"paths", "conf", "files", "mariadb", "rows "+sc.database+".zuul_build", "25", "25", "OK",
		"zookeeper", "znodes /keystorage", "znodes /nodepool", "znodes /zuul-system",
		"zookeeper/keys: not loaded by a restore; decoded and checked", "Drill passed")
	if strings.Contains(r.stdout, "MISMATCH") {
		t.Errorf("mismatch:\n%s", r.stdout)
	}
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("scratch places left after the drill: %v", got)
	}
	untouched()

	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 0, "last successful restore drill (snapshot "+id+")", "drill_age=")
	prom := readFile(t, strings.TrimSuffix(f.textfile, ".prom")+"_drill.prom")
	for _, want := range []string{"zuulstate_drill_last_success 1", "zuulstate_drill_last_success_timestamp_seconds ", "zuulstate_drill_mismatches 0", "zuulstate_drill_duration_seconds "} {
		if !strings.Contains(prom, want) {
			t.Errorf("drill metrics lack %q:\n%s", want, prom)
		}
	}
	if backup := readFile(t, f.textfile); !strings.Contains(backup, "zuulstate_backup_last_success 1") || strings.Contains(backup, "drill") {
		t.Errorf("the backup's metrics were replaced:\n%s", backup)
	}
	if pushes := f.pushes.all(); !strings.Contains(pushes, "PUT /metrics/job/zuulstate/instance/") || !strings.Contains(pushes, "/operation/drill") {
		t.Errorf("pushes:\n%s", pushes)
	}
}

func volumeNamed(name string) volume.CreateOptions { return volume.CreateOptions{Name: name} }

// expectNagios checks a check's state and line.
func (r result) expectNagios(t *testing.T, state int, fragments ...string) {
	t.Helper()
	if r.code != state {
		t.Fatalf("check exit %d, want %d\nstdout: %s\nstderr: %s", r.code, state, r.stdout, r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("check line %q lacks %q", r.stdout, f)
		}
	}
}

// TestDrillInterrupted: a drill killed with SIGKILL midway (the real
// binary, while it loads the database) leaves its scratch places and its
// record; the next drill removes them first, says so, and passes. A drill
// stopped with SIGTERM midway removes its scratch places itself and exits
// 130. A live drill's record stops another drill (exit 3) before it
// touches anything.
func TestDrillInterrupted(t *testing.T) {
	f := newDrillFixture(t, "")
	q := mariadbtest.QuoteIdent(f.srcDB)
	// Loading this table takes a moment: the signal lands while the drill
	// writes.
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+q+".zuul_buildset (id INT PRIMARY KEY, uuid VARCHAR(200))")
	mariadbtest.Exec(t, f.prod, "INSERT INTO "+q+".zuul_buildset SELECT seq, REPEAT('x', 200) FROM "+q+".seq_1_to_100000")
	_, prefix := f.backup(t)
	sc := f.scratch(t, prefix)
	untouched := f.prodOnTarget(t)

	r := f.midway(t, sc, syscall.SIGKILL)
	if r.code != -1 {
		t.Fatalf("killed drill: exit %d, want killed\n%s", r.code, r.stderr)
	}
	left := f.present(t, sc)
	for _, want := range []string{"database", "volume", "directory", "record"} {
		if !slices.Contains(left, want) {
			t.Errorf("after SIGKILL: %v present, want %s among them", left, want)
		}
	}
	r = f.run(t, "drill", "--target", "drill")
	r.expectOK(t)
	t.Logf("the drill after the killed one:\n%s", r.stderr)
	inOrder(t, r.stderr, "did not finish", "no longer exists", "removing its scratch places", "database "+sc.database)
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("after the drill that followed the killed one: %v present", got)
	}
	st := readDrillStatus(t, f.repo)
	if st["result"] != "success" || !strings.Contains(fmt.Sprint(st["leftovers_removed"]), sc.database) {
		t.Errorf("status after removing leftovers: %v", st)
	}
	untouched()

	r = f.midway(t, sc, syscall.SIGTERM)
	t.Logf("the drill stopped by SIGTERM:\n%s", r.stderr)
	if r.code != exitInterrupted {
		t.Fatalf("SIGTERM: exit %d, want %d\n%s", r.code, exitInterrupted, r.stderr)
	}
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("after SIGTERM: %v present", got)
	}
	if st := readDrillStatus(t, f.repo); st["result"] != "failure" || !strings.Contains(fmt.Sprint(st["error"]), "interrupted") ||
		st["last_success_snapshot_id"] == nil {
		t.Errorf("status after SIGTERM: %v", st)
	}
	untouched()

	// A record whose holder lives (this test) stops the drill.
	holder := repository.CurrentHolder(hostname(t), time.Hour)
	rec, _ := json.Marshal(map[string]any{"run": "x", "target": "drill", "snapshot_id": "20260101T000000Z-00000000", "holder": holder})
	recPath := filepath.Join(f.repo, "status", "drills", "drill.json")
	if err := os.MkdirAll(filepath.Dir(recPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recPath, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, "drill", "--target", "drill").expectFail(t, exitLocked, "another drill of snapshot 20260101T000000Z-00000000", fmt.Sprint("pid ", os.Getpid()))
	if got := f.present(t, sc); !slices.Equal(got, []string{"record"}) {
		t.Errorf("a drill stopped by a live one left %v", got)
	}
	untouched()
}

// midway starts a drill and sends it sig once its scratch database
// exists, while it loads it, and returns how it ended.
func (f *drillFixture) midway(t *testing.T, sc scratch, sig syscall.Signal) result {
	t.Helper()
	cmd := commandWithEnv(t, f.env, "drill", "--target", "drill")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
poll:
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err = <-done:
			t.Fatalf("the drill ended before it could be stopped (%v):\n%s", err, cmd.Stderr)
		default:
		}
		var n int
		if qerr := f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", sc.database).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if n > 0 {
			break poll
		}
		if time.Now().After(deadline) {
			t.Fatal("the drill never created its database")
		}
	}
	if serr := cmd.Process.Signal(sig); serr != nil {
		t.Fatal(serr)
	}
	err = <-done
	r := result{stdout: fmt.Sprint(cmd.Stdout), stderr: fmt.Sprint(cmd.Stderr), code: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return r
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDrillBothFormats: the drill restores through the restore path, so
// it passes on a format 3 (default) and a format 2 repository alike; bad
// input is a usage error that writes nothing.
func TestDrillBothFormats(t *testing.T) {
	for _, format := range []string{"3", "2"} {
		t.Run("format"+format, func(t *testing.T) {
			f := newFixture(t, "")
			if format == "2" {
				f.formatTwo(t)
			}
			f.writeConfig(t, readFile(t, f.config)+"targets:\n  drill: {profile: dr}\n")
			f.run(t, "drill", "--target", "drill").expectFail(t, exitNotFound, "no snapshot")
			f.run(t, "backup").expectOK(t)
			f.run(t, "drill").expectFail(t, exitUsage, "--target NAME")
			f.run(t, "drill", "--target", "nope").expectFail(t, exitUsage, `no restore target "nope"`, "drill")
			f.run(t, "drill", "a", "b", "--target", "drill").expectFail(t, exitUsage, "at most one argument")
			f.run(t, "check", "--max-drill-age", "8x").expectNagios(t, 3, "8x")
			r := f.run(t, "drill", "--target", "drill", "--quiet")
			r.expectOK(t)
			if r.stdout != "" || r.stderr != "" {
				t.Errorf("a quiet drill that passed printed:\n%s%s", r.stdout, r.stderr)
			}
			st := readDrillStatus(t, f.repo)
			if st["result"] != "success" || !strings.Contains(fmt.Sprint(st["checks"]), "files") {
				t.Errorf("status: %v", st)
			}
			entries, err := os.ReadDir(filepath.Join(f.dir, "state", "drill"))
			if err != nil || len(entries) != 0 {
				t.Errorf("the scratch directory holds %v (%v)", entries, err)
			}
			f.run(t, "check", "--max-drill-age", "1d").expectNagios(t, 0, "last successful restore drill")
		})
	}
}
