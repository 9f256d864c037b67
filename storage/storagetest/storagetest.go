// Package storagetest is the conformance suite every storage.Store backend
// runs, so the local directory and S3 behave the same to the layers above:
// streaming round trips of large objects, lexical listing across pages and
// nested prefixes, not-found errors, atomic overwrite, and no visible object
// after a cancelled or failed Put.
package storagetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
)

// Run runs the suite. newStore must return a store on a fresh, empty,
// unique location and arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, newStore(t)) })
	t.Run("ListOrder", func(t *testing.T) { testListOrder(t, newStore(t)) })
	t.Run("ListMany", func(t *testing.T) { testListMany(t, newStore(t)) })
	t.Run("ListStop", func(t *testing.T) { testListStop(t, newStore(t)) })
	t.Run("CancelMidPut", func(t *testing.T) { testCancelMidPut(t, newStore(t)) })
	t.Run("CancelBeforePut", func(t *testing.T) { testCancelBeforePut(t, newStore(t)) })
	t.Run("ReaderError", func(t *testing.T) { testReaderError(t, newStore(t)) })
	t.Run("FailedOverwriteKeepsOld", func(t *testing.T) { testFailedOverwrite(t, newStore(t)) })
	t.Run("GetRange", func(t *testing.T) { testGetRange(t, newStore(t)) })
	t.Run("Retainer", func(t *testing.T) { testRetainer(t, newStore(t)) })
}

// testRoundTrip covers the empty object, a single byte, the S3 minimum part
// size plus one, one default part exactly, and an object large enough for
// many parts, comparing sha256 while streaming.
func testRoundTrip(t *testing.T, s storage.Store) {
	sizes := []int64{0, 1, 5*mib + 1, 16 * mib, 100 * mib}
	for i, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprintf("rt/obj-%d", size)
			want := put(t, s, key, uint64(i), size)
			info, err := s.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if info.Key != key || info.Size != size || info.ModTime.IsZero() {
				t.Errorf("Stat(%q) = %+v, want key %q, size %d, a mod time", key, info, key, size)
			}
			got, n := getHash(t, s, key)
			if n != size || got != want {
				t.Errorf("Get(%q): %d bytes sha256 %s, want %d bytes sha256 %s", key, n, got, size, want)
			}
		})
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	putBytes(t, s, "dir/present", "x")
	for _, key := range []string{"missing", "dir/missing", "dir", "di", "dir/present/below"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%q) error = %v, want ErrNotFound", key, err)
		}
		rc, err := s.Get(ctx, key)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound at open time", key, err)
		}
		if rc != nil {
			rc.Close()
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key = %v, want nil", key, err)
		}
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	put(t, s, "k", 1, 2*mib)
	putBytes(t, s, "k", "second")
	if got := getBytes(t, s, "k"); got != "second" {
		t.Errorf("after overwrite Get = %q, want %q", got, "second")
	}
	if info, err := s.Stat(t.Context(), "k"); err != nil || info.Size != int64(len("second")) {
		t.Errorf("after overwrite Stat = %+v, %v; want size %d", info, err, len("second"))
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	putBytes(t, s, "a/b/c", "1")
	putBytes(t, s, "a/d", "2")
	if err := s.Delete(ctx, "a/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "a/b/c"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
	}
	if got := listKeys(t, s, ""); fmt.Sprint(got) != "[a/d]" {
		t.Errorf("List after Delete = %q, want [a/d]", got)
	}
	// The key's former directory must not block reusing its name as a key.
	putBytes(t, s, "a/b", "3")
	if got := getBytes(t, s, "a/b"); got != "3" {
		t.Errorf("Get(a/b) = %q, want 3", got)
	}
}

// testInvalidKeys holds every backend to the same key rules, so a repository
// can move between backends: no absolute keys, "." or ".." segments, empty
// segments, or backslashes. Each operation must fail cleanly.
func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	bad := []string{"", "/abs", "..", "a/../b", "./a", "a/.", "a//b", "a/", `a\b`}
	for _, key := range bad {
		if err := s.Put(ctx, key, stringsReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an error", key)
		}
		if _, err := s.Get(ctx, key); err == nil {
			t.Errorf("Get(%q) succeeded, want an error", key)
		}
		if _, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) succeeded, want an error", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded, want an error", key)
		}
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after invalid Puts = %q, want nothing", got)
	}
}
