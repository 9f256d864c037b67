package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// runMany starts every argument list at once and returns the results in
// the same order.
func runMany(t *testing.T, env []string, argvs ...[]string) []result {
	t.Helper()
	out := make([]result, len(argvs))
	var wg sync.WaitGroup
	for i, argv := range argvs {
		cmd := commandWithEnv(t, env, argv...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			err := cmd.Wait()
			r := result{stdout: cmd.Stdout.(*strings.Builder).String(), stderr: cmd.Stderr.(*strings.Builder).String()}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				r.code = ee.ExitCode()
			} else if err != nil {
				r.code = -1
				r.stderr += err.Error()
			}
			out[i] = r
		})
	}
	wg.Wait()
	return out
}

func repeat(n int, argv ...string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = argv
	}
	return out
}

// snapshotIDs runs `snapshots` and returns the ids it lists.
func snapshotIDs(t *testing.T, f *fixture) []string {
	t.Helper()
	r := f.run(t, "snapshots", "--quiet")
	r.expectOK(t)
	var ids []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if fs := strings.Fields(l); len(fs) > 0 && len(fs[0]) == len("20261125T211304Z-3fa1c2d9") && fs[0][8] == 'T' {
			ids = append(ids, fs[0])
		}
	}
	return ids
}

// concurrencyFixtures are a local and a MinIO repository with the paths
// source; MinIO is skipped (or fails in CI) when it is not running.
func concurrencyFixtures(t *testing.T) map[string]func(t *testing.T) *fixture {
	return map[string]func(t *testing.T) *fixture{
		"local": func(t *testing.T) *fixture { return newFixture(t, "") },
		"s3": func(t *testing.T) *fixture {
			repoYAML, env := s3YAML(t)
			f := newFixture(t, repoYAML)
			f.env = append(f.env, env...)
			return f
		},
	}
}

// TestConcurrentBackups: ten backups started at once against one
// repository: exactly one runs and the nine others exit with the locked
// code; with --lock-wait all ten run, one after another. Every snapshot
// then passes verify --deep and no lock is left behind.
func TestConcurrentBackups(t *testing.T) {
	for name, mk := range concurrencyFixtures(t) {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			// Incompressible data keeps the winner busy until every other
			// run has started and tried: one that starts after the winner
			// has finished would rightly succeed.
			writeIncompressible(t, filepath.Join(f.data, "big.bin"), 48<<20)
			res := runMany(t, f.env, repeat(10, "backup", "--quiet")...)
			ok, locked := 0, 0
			for _, r := range res {
				switch r.code {
				case 0:
					ok++
				case exitLocked:
					locked++
					r.expectFail(t, exitLocked, "repository is locked", "held by")
				default:
					t.Fatalf("backup exited %d:\n%s", r.code, r.stderr)
				}
			}
			t.Logf("10 concurrent backups: %d succeeded, %d exited %d (locked)", ok, locked, exitLocked)
			if ok != 1 || locked != 9 {
				t.Fatalf("%d backups succeeded and %d were locked out, want 1 and 9", ok, locked)
			}
			if ids := snapshotIDs(t, f); len(ids) != 1 {
				t.Fatalf("snapshots after the race: %v", ids)
			}

			res = runMany(t, f.env, repeat(10, "backup", "--quiet", "--lock-wait", "5m")...)
			for _, r := range res {
				r.expectOK(t)
			}
			ids := snapshotIDs(t, f)
			if len(ids) != 11 {
				t.Fatalf("%d snapshots after 10 waiting backups, want 11", len(ids))
			}
			f.run(t, "verify", "--all", "--deep").expectOK(t)
			noLocksLeft(t, f)
		})
	}
}

// TestConcurrentBackupAndPrune: backups and prunes running at the same
// time (waiting for each other) never leave a listed snapshot with a
// missing part.
func TestConcurrentBackupAndPrune(t *testing.T) {
	for name, mk := range concurrencyFixtures(t) {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			for range 3 {
				f.run(t, "backup", "--quiet").expectOK(t)
			}
			var argvs [][]string
			for range 5 {
				argvs = append(argvs, []string{"backup", "--quiet", "--lock-wait", "5m"},
					[]string{"prune", "--keep-last", "2", "--orphan-grace", "0s", "--lock-wait", "5m"})
			}
			for _, r := range runMany(t, f.env, argvs...) {
				r.expectOK(t)
			}
			ids := snapshotIDs(t, f)
			if len(ids) < 2 || len(ids) > 7 {
				t.Fatalf("snapshots after backups and prunes: %v", ids)
			}
			f.run(t, "verify", "--all", "--deep").expectOK(t)
			f.run(t, "prune", "--keep-last", "2", "--orphan-grace", "0s").expectOK(t)
			if ids := snapshotIDs(t, f); len(ids) != 2 {
				t.Fatalf("snapshots after the final prune: %v", ids)
			}
			f.run(t, "verify", "--all", "--deep").expectOK(t)
			noLocksLeft(t, f)
		})
	}
}

// noLocksLeft checks that every run released its lock.
func noLocksLeft(t *testing.T, f *fixture) {
	t.Helper()
	r := f.run(t, "unlock")
	r.expectOK(t)
	if strings.TrimSpace(r.stdout) != "no locks" {
		t.Fatalf("locks were left behind:\n%s", r.stdout)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.repo, "locks")); len(entries) > 0 {
		t.Fatalf("%d lock objects left in the local repository", len(entries))
	}
}
