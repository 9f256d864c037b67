package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func latestID(t *testing.T, f *fixture) string {
	t.Helper()
	r := f.run(t, "snapshots", "--json")
	r.expectOK(t)
	var rows []snapshotRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("snapshots --json: %v %q", err, r.stdout)
	}
	return rows[len(rows)-1].ID
}

// sameTree compares two directories with diff -r, which checks contents and
// the presence of every entry.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	if out, err := exec.Command("diff", "-r", "--no-dereference", a, b).CombinedOutput(); err != nil {
		t.Fatalf("trees differ: %v\n%s", err, out)
	}
}

func TestBackupRestoreLocal(t *testing.T) {
	f := newFixture(t, "")
	r := f.run(t, "backup", "--tag", "first")
	r.expectOK(t)
	id := strings.TrimSpace(r.stdout)
	if id != latestID(t, f) {
		t.Fatalf("backup printed %q, latest is %q", id, latestID(t, f))
	}
	show := f.run(t, "show", "latest")
	show.expectOK(t)
	if !strings.Contains(show.stdout, "paths") || !strings.Contains(show.stdout, "first") {
		t.Fatalf("show output lacks part or tag:\n%s", show.stdout)
	}
	f.run(t, "verify", "latest", "--deep").expectOK(t)
	f.run(t, "verify", "--all").expectOK(t)

	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", "latest", "--paths-dir", target).expectOK(t)
	sameTree(t, f.data, filepath.Join(target, "data"))
	f.run(t, "restore", "latest", "--paths-dir", target).expectFail(t, exitTargetFull, "not empty", "--force")
	f.run(t, "restore", id[:10], "--paths-dir", target, "--force").expectOK(t)
	sameTree(t, f.data, filepath.Join(target, "data"))
}

func TestQuietBackupPrintsNothing(t *testing.T) {
	f := newFixture(t, "")
	r := f.run(t, "backup", "--quiet")
	r.expectOK(t)
	if r.stdout != "" || r.stderr != "" {
		t.Fatalf("--quiet printed: %q %q", r.stdout, r.stderr)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t, "")
	for range 2 {
		f.run(t, "backup", "--quiet").expectOK(t)
	}
	newest := latestID(t, f)
	f.run(t, "prune").expectFail(t, exitUsage, "retention")
	dry := f.run(t, "prune", "--keep-last", "1", "--dry-run")
	dry.expectOK(t)
	if !strings.Contains(dry.stdout, "would delete") {
		t.Fatalf("dry run output: %s", dry.stdout)
	}
	f.run(t, "prune", "--keep-last", "1").expectOK(t)
	if got := latestID(t, f); got != newest {
		t.Fatalf("newest snapshot changed: %s != %s", got, newest)
	}
	r := f.run(t, "snapshots")
	if !strings.Contains(r.stdout, "1 snapshots") {
		t.Fatalf("after prune:\n%s", r.stdout)
	}
}

func TestLockedRepository(t *testing.T) {
	f := newFixture(t, "")
	lock := `{"host":"other-host","pid":4242,"operation":"backup","created":"2099-01-01T00:00:00Z","refreshed":"2099-01-01T00:00:00Z","ttl":"30m0s"}`
	if err := os.MkdirAll(filepath.Join(f.repo, "locks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.repo, "locks", "x.json"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, "backup").expectFail(t, exitLocked, "other-host", "4242", "zuulstate unlock")
	r := f.run(t, "unlock")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "kept active lock") {
		t.Fatalf("unlock removed a live lock: %s", r.stdout)
	}
	f.run(t, "unlock", "--all").expectOK(t)
	f.run(t, "backup", "--quiet").expectOK(t)
	if entries, _ := os.ReadDir(filepath.Join(f.repo, "locks")); len(entries) != 0 {
		t.Fatalf("lock left after backup: %v", entries)
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, c := range []string{"backup", "snapshots", "show", "verify", "restore", "drill", "check", "prune", "unlock", "config check", "keygen"} {
		r := run(t, []string{"ZUULSTATE_S3_SECRET_KEY=do-not-print-me"}, append(strings.Fields(c), "--help")...)
		r.expectOK(t)
		if !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help has no example", c)
		}
		if strings.Contains(r.stdout, "do-not-print-me") {
			t.Errorf("%s --help printed a secret", c)
		}
	}
}
