package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
)

// TestDiff backs up every source twice with a row, a znode and files
// changed in between, and compares the two snapshots.
func TestDiff(t *testing.T) {
	f := newAllFixture(t)
	r := f.run(t, "backup")
	r.expectOK(t)
	idA := strings.TrimSpace(r.stdout)

	mariadbtest.Exec(t, f.prod, "INSERT INTO "+mariadbtest.QuoteIdent(f.srcDB)+".zuul_build VALUES (100, 'FAILURE'), (101, 'SUCCESS')")
	c := f.prodZK.Connect(t, f.pchr)
	if err := c.Delete(t.Context(), "/keystorage-oidc/RS256"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(t.Context(), "/keystorage-oidc/RS256", []byte(`{"rotated": true}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(t.Context(), "/keystorage/gerrit/new-project", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.data, "index.html"), []byte("<html><body>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.data, "builds/2/log.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.data, "builds/3.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = f.run(t, "backup")
	r.expectOK(t)
	idB := strings.TrimSpace(r.stdout)

	// By id: two backups within one second need not sort in the order
	// they were taken, so latest~1 is checked on its own below.
	r = f.run(t, "diff", idA, idB, "--details")
	r.expectOK(t)
	t.Logf("diff:\n%s", r.stdout)
	for _, want := range []string{
		"zookeeper/tree: added /keystorage/gerrit/new-project",
		"zookeeper/tree: changed /keystorage-oidc/RS256 (data",
		"paths/conf: changed index.html (size 6 → 12, content",
		"paths/conf: removed builds/2/log.txt",
		"paths/conf: added builds/3.txt",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diff lacks %q", want)
		}
	}
	// index.html, and the mtimes of the directories builds and builds/2.
	inOrder(t, r.stdout, "SOURCE", "paths", "conf", "changed", "files", "1", "1", "3", "volumes", "same",
		"zookeeper", "tree", "changed", "znodes", "1", "0", "1")
	inOrder(t, r.stdout, "DATABASE", f.srcDB, "zuul_build", "25", "27", "+2")
	if strings.Contains(r.stdout, "/zuul/") {
		t.Errorf("diff reports nodes outside the changed ones:\n%s", r.stdout)
	}

	// The summary alone; the same snapshot twice is all "same".
	r = f.run(t, "diff", "latest", "latest")
	r.expectOK(t)
	if strings.Contains(r.stdout, "changed") || strings.Contains(r.stdout, "Changes:") {
		t.Errorf("a snapshot differs from itself:\n%s", r.stdout)
	}
	r = f.run(t, "diff", "latest~1", "latest")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "A: ") || strings.Count(r.stdout, idA)+strings.Count(r.stdout, idB) != 2 || !strings.Contains(r.stdout, idA) {
		t.Errorf("latest~1 and latest are not the two snapshots:\n%s", r.stdout)
	}
	f.run(t, "diff", "latest~5", "latest").expectFail(t, exitNotFound, "latest~5")
	f.run(t, "diff", "latest").expectFail(t, exitUsage, "two arguments")
}
