package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMixedFormats: a repository written in format 2 keeps working once
// backups switch to format 3 (the default): both snapshots are listed,
// shown, verified, diffed and restored, and prune removes the old one.
func TestMixedFormats(t *testing.T) {
	f := newFixture(t, "")
	body, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	f.formatTwo(t)
	f.run(t, "backup", "--quiet").expectOK(t)
	old := latestID(t, f)
	before := filepath.Join(f.dir, "before")
	copyTree(t, f.data, before)

	if err := os.WriteFile(filepath.Join(f.data, "a.txt"), []byte("alpha, changed\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	f.writeConfig(t, string(body)) // dedup unset: format 3
	f.run(t, "backup", "--quiet").expectOK(t)
	cur := latestID(t, f)

	list := f.run(t, "snapshots")
	list.expectOK(t)
	for _, id := range []string{old, cur} {
		if !strings.Contains(list.stdout, id) {
			t.Fatalf("snapshot %s not listed:\n%s", id, list.stdout)
		}
	}
	if r := f.run(t, "show", old); !strings.Contains(r.stdout, "(format 2)") || !strings.Contains(r.stdout, "sha256 ") {
		t.Errorf("show %s:\n%s", old, r.stdout)
	}
	if r := f.run(t, "show", cur); !strings.Contains(r.stdout, "(format 3)") || !strings.Contains(r.stdout, "new chunks") {
		t.Errorf("show %s:\n%s", cur, r.stdout)
	}
	f.run(t, "verify", "--all", "--deep").expectOK(t)
	diff := f.run(t, "diff", old, cur, "--details")
	diff.expectOK(t)
	if !strings.Contains(diff.stdout, "changed a.txt") {
		t.Errorf("diff misses the change:\n%s", diff.stdout)
	}
	for id, want := range map[string]string{old: before, cur: f.data} {
		target := filepath.Join(f.dir, "restored-"+id)
		f.run(t, "restore", id, "--paths-dir", target).expectOK(t)
		sameTree(t, want, filepath.Join(target, "data"))
	}
	f.run(t, "prune", "--keep-last", "1").expectOK(t)
	if _, err := os.Stat(filepath.Join(f.repo, "parts", old)); !os.IsNotExist(err) {
		t.Errorf("format 2 parts of the pruned snapshot are still there: %v", err)
	}
	f.run(t, "verify", "latest", "--deep").expectOK(t)
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, fi.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
}
