package storagetest

import (
	"errors"
	"io"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
)

// testGetRange reads ranges at the start, middle and end of an object, an
// empty range, and ranges past the end, which must wrap ErrShortObject.
func testGetRange(t *testing.T, s storage.Store) {
	ctx := t.Context()
	content := "0123456789abcdefghij"
	putBytes(t, s, "range/obj", content)
	for _, r := range []struct{ off, n int64 }{{0, 20}, {0, 1}, {5, 10}, {19, 1}, {20, 0}, {7, 0}} {
		rc, err := s.GetRange(ctx, "range/obj", r.off, r.n)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", r.off, r.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != content[r.off:r.off+r.n] {
			t.Errorf("GetRange(%d, %d) = %q, %v; want %q", r.off, r.n, got, err, content[r.off:r.off+r.n])
		}
	}
	for _, r := range []struct{ off, n int64 }{{15, 6}, {20, 1}, {30, 5}} {
		rc, err := s.GetRange(ctx, "range/obj", r.off, r.n)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, storage.ErrShortObject) {
			t.Errorf("GetRange(%d, %d) past the end: %v, want ErrShortObject", r.off, r.n, err)
		}
	}
	if _, err := s.GetRange(ctx, "range/missing", 0, 1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetRange of a missing key: %v, want ErrNotFound", err)
	}
}
