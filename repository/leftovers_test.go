package repository

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSweepLeftoversSparesLockWrites: with a grace of 0 a prune sweeps the
// temp files of interrupted data writes at once, but not the temp file of
// a lock object being written by a run that waits for the lock (its rename
// would fail, and the run with it).
func TestSweepLeftoversSparesLockWrites(t *testing.T) {
	r, dir := newRepo(t, Options{})
	minuteAgo := time.Now().Add(-time.Minute)
	files := map[string]bool{ // temp file → must survive
		"locks/.tmp-waiting":         true,
		"packs/ab/.tmp-killed":       false,
		"locks/.tmp-killed-long-ago": false,
	}
	for rel := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		mtime := minuteAgo
		if rel == "locks/.tmp-killed-long-ago" {
			mtime = time.Now().Add(-2 * lockLeftoverAge)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	var res PruneResult
	if err := r.sweepLeftovers(t.Context(), 0, false, &res); err != nil {
		t.Fatal(err)
	}
	if res.DeletedKeys != 2 {
		t.Errorf("swept %d leftovers, want 2", res.DeletedKeys)
	}
	for rel, keep := range files {
		if _, err := os.Stat(filepath.Join(dir, rel)); (err == nil) != keep {
			t.Errorf("%s: exists %v, want %v", rel, err == nil, keep)
		}
	}
}
