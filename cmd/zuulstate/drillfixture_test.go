package main

import (
	"encoding/json"
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
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
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
