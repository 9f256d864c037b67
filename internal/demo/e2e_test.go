package demo_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// TestEndToEnd is `make demo` with assertions: a Zuul-shaped prod (database,
// ZooKeeper over TLS, log volume, bind mounts of a running container,
// compose files) goes into one snapshot in MinIO with the demo's
// configuration, and `restore --target dev` rebuilds it as a dev instance.
// Then every table (definition, row count, CHECKSUM TABLE, every row),
// every restored znode (path, data, ACL) and every file (content, mode,
// owner, mtime, links, xattrs) must equal prod's, and the subtrees the dev
// profile drops must be absent.
func TestEndToEnd(t *testing.T) {
	p := seedProd(t, 800, 60)
	cfg, _ := p.config(t)

	id := strings.TrimSpace(p.run(t, cfg, "backup"))
	if id == "" {
		t.Fatal("backup printed no snapshot id")
	}
	if !voltest.Running(t, p.sv.Engine, p.Container) {
		t.Error("the service container does not run after the backup")
	}
	out := p.run(t, cfg, "restore", id, "--target", "dev")
	for _, want := range []string{"Verification", "skip /nodepool (profile dev)", "skip /zuul-system (profile dev)", "Next steps"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}

	t.Run("mariadb", func(t *testing.T) {
		mariadbtest.Compare(t, mariadbtest.Open(t, "prod"), p.DB, mariadbtest.Open(t, "dev"), p.DevDB)
	})

	t.Run("zookeeper", func(t *testing.T) {
		prodZK := zktest.Server{Which: "prod", TLS: true}.Connect(t, p.ZKRoot)
		devZK := zktest.Server{Which: "dev", TLS: true}.Connect(t, p.ZKRoot)
		var want []*zktree.Node
		for _, n := range zktest.Dump(t, prodZK, "/") {
			if under(n.Path, "/keystorage") || under(n.Path, "/keystorage-oidc") {
				want = append(want, n)
			}
		}
		var got []*zktree.Node
		for _, n := range zktest.Dump(t, devZK, "/") {
			if n.Path != "/" { // the chroot node itself is the test's
				got = append(got, n)
			}
		}
		if len(want) < 70 {
			t.Fatalf("only %d prod nodes under /keystorage and /keystorage-oidc: the seed changed", len(want))
		}
		for _, d := range zktest.Diff(want, got) {
			t.Error(d)
		}
		for _, gone := range []string{"/zuul-system", "/nodepool", "/zuul"} {
			if zktest.Exists(t, devZK, gone) {
				t.Errorf("%s exists on the dev instance; profile dev must not restore it", gone)
			}
		}
	})

	t.Run("files", func(t *testing.T) {
		same := func(what, src, dst string) {
			t.Helper()
			want, got := voltest.Scan(t, src), voltest.Scan(t, dst)
			if len(want) < 3 {
				t.Fatalf("%s: only %d entries in %s", what, len(want), src)
			}
			voltest.Compare(t, want, got)
		}
		same("volume", p.mountpoint(t, p.Volume), p.mountpoint(t, p.DevVolume))
		for src := range p.Binds() {
			rel, err := filepath.Rel(p.ProdRoot(), src)
			if err != nil {
				t.Fatal(err)
			}
			same("bind "+rel, src, filepath.Join(p.DevRoot(), rel))
		}
		same("paths", p.ComposeDir(), filepath.Join(p.PathsDir(), "compose"))
	})
}

// under reports whether p is root or below it.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }
