package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
)

// mustBeAbsent asserts that nothing is visible under key, by Stat and List.
func mustBeAbsent(t *testing.T, s storage.Store, key string) {
	t.Helper()
	if info, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q) after aborted Put = %+v, %v; want ErrNotFound", key, info, err)
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after aborted Put = %q, want nothing", got)
	}
}

// testCancelMidPut cancels the context after 20 MiB (past the first S3 part)
// while the source keeps streaming; a store that ignored ctx would store the
// whole 40 MiB and pass the Put.
func testCancelMidPut(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &cancelReader{r: stream(7, 40*mib), after: 20 * mib, cancel: cancel}
	err := s.Put(ctx, "cancelled", r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with ctx cancelled after %d bytes: error %v, want context.Canceled", r.n, err)
	}
	mustBeAbsent(t, s, "cancelled")
}

func testCancelBeforePut(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, "early", stringsReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled ctx: %v, want context.Canceled", err)
	}
	mustBeAbsent(t, s, "early")
}

// testReaderError fails the source before the first byte, inside the first
// part, and after a whole 8 MiB part has been uploaded.
func testReaderError(t *testing.T, s storage.Store) {
	for _, after := range []int64{0, 1 * kib, 24 * mib} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			key := fmt.Sprintf("failed-%d", after)
			err := s.Put(t.Context(), key, &failingReader{r: stream(8, 40*mib), after: after})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Put with a source failing after %d bytes: %v, want it to wrap %v", after, err, errBoom)
			}
			mustBeAbsent(t, s, key)
		})
	}
}

// testFailedOverwrite checks atomicity: a failed replacement leaves the
// previous object complete and readable.
func testFailedOverwrite(t *testing.T, s storage.Store) {
	putBytes(t, s, "keep", "old content")
	err := s.Put(t.Context(), "keep", &failingReader{r: stream(9, 40*mib), after: 24 * mib})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failing overwrite: %v, want it to wrap %v", err, errBoom)
	}
	if got := getBytes(t, s, "keep"); got != "old content" {
		t.Errorf("after failed overwrite Get = %q (%d bytes), want the old content", got[:min(len(got), 20)], len(got))
	}
}
