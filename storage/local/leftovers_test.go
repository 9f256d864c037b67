package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSweepLeftovers: temp files of killed Puts older than the cutoff go,
// with the directories only they kept; young ones and objects stay.
func TestSweepLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	files := map[string]bool{ // path → must survive
		"parts/a/x/" + tempPrefix + "1": false,
		"parts/b/y/" + tempPrefix + "2": true, // young
		"parts/b/y/obj.zst":             true,
		"locks/" + tempPrefix + "3":     false,
	}
	for rel, keep := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if !keep || filepath.Base(rel) == "obj.zst" {
			_ = os.Chtimes(p, old, old)
		}
	}
	cutoff := func(string) time.Time { return time.Now().Add(-time.Minute) }
	n, err := s.SweepLeftovers(t.Context(), cutoff, true)
	if err != nil || n != 2 {
		t.Fatalf("dry run: %d, %v; want 2", n, err)
	}
	if n, err = s.SweepLeftovers(t.Context(), cutoff, false); err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v; want 2", n, err)
	}
	for rel, keep := range files {
		if _, err := os.Stat(filepath.Join(root, rel)); (err == nil) != keep {
			t.Errorf("%s: exists %v, want %v", rel, err == nil, keep)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "parts", "a")); !os.IsNotExist(err) {
		t.Errorf("the directory only the leftover kept is still there: %v", err)
	}
}
