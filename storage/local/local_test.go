package local

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/storagetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
}

func TestNewMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := New(dir)
	if !errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("New(missing) = %v, want ErrNoBucket", err)
	}
	if !strings.Contains(err.Error(), "create it") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q should name %s and say to create it", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New created the missing directory (stat: %v)", err)
	}
}

func TestNewNotADir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(f); !errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("New(file) = %v, want ErrNoBucket", err)
	}
}

// TestTempFilesInvisible plants temp files like an interrupted Put leaves
// behind, and checks List, Stat and Get never show them.
func TestTempFilesInvisible(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "d/real", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".tmp-123", "d/.tmp-456"} {
		if err := os.WriteFile(filepath.Join(s.root, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, name); err == nil {
			t.Errorf("Stat(%q) of a temp file succeeded", name)
		}
	}
	var keys []string
	if err := s.List(ctx, "", func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "d/real" {
		t.Errorf("List = %q, want only d/real", keys)
	}
	if !IsTempName(".tmp-abc") || IsTempName("tmp-abc") {
		t.Error("IsTempName misclassifies")
	}
}

// TestNoTempLeftBehind checks that a failed Put removes its temp file rather
// than merely hiding it.
func TestNoTempLeftBehind(t *testing.T) {
	s := newStore(t)
	err := s.Put(t.Context(), "x/y", iotest.ErrReader(errors.New("broken source")))
	if err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	var found []string
	filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != 0 {
		t.Errorf("files left after failed Put: %q", found)
	}
}

// TestEscapingKeys checks keys that would leave the root are rejected before
// touching the file system.
func TestEscapingKeys(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "repo")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escape", "a/../../escape", "/etc/escape", ".tmp-x", "a/.tmp-x"} {
		if err := s.Put(t.Context(), key, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
		t.Error("a key escaped the root")
	}
}

// TestDeletePrunesDirs checks Delete removes directories it empties but
// never the root.
func TestDeletePrunesDirs(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "p/q/r", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "p/q/r"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "p")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory p left behind (stat: %v)", err)
	}
	if _, err := os.Stat(s.root); err != nil {
		t.Errorf("root removed: %v", err)
	}
}
