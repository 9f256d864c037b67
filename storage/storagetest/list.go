package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/storage"
)

// listKeys returns the keys List reports for prefix, checking sizes are sane.
func listKeys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(t.Context(), prefix, func(oi storage.ObjectInfo) error {
		if oi.Size < 0 || oi.ModTime.IsZero() {
			t.Errorf("List(%q): %+v has no size or mod time", prefix, oi)
		}
		keys = append(keys, oi.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// testListOrder uses keys whose lexical order differs from a per-directory
// walk ('-' < '/' < '0'), and prefixes that end mid-segment.
func testListOrder(t *testing.T, s storage.Store) {
	keys := []string{"b", "a0", "ab/1", "a/2/x", "a-c", "a/1"}
	for _, k := range keys {
		putBytes(t, s, k, k)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a-c", "a/1", "a/2/x", "a0", "ab/1", "b"}},
		{"a/", []string{"a/1", "a/2/x"}},
		{"a", []string{"a-c", "a/1", "a/2/x", "a0", "ab/1"}},
		{"a/2", []string{"a/2/x"}},
		{"a/1", []string{"a/1"}},
		{"ab", []string{"ab/1"}},
		{"ab/", []string{"ab/1"}},
		{"c", nil},
		{"a/3/", nil},
	}
	for _, c := range cases {
		if got := listKeys(t, s, c.prefix); !slices.Equal(got, c.want) {
			t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}

// testListMany exceeds one S3 ListObjects page (1000 keys) so continuation
// is exercised, and mixes in a sibling prefix that must not leak in.
func testListMany(t *testing.T, s storage.Store) {
	const n = 1200
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("many/%05d", i)
	}
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	for _, k := range append(slices.Clone(want), "many0", "man", "manyx/1") {
		g.Go(func() error {
			if err := s.Put(ctx, k, stringsReader(k)); err != nil {
				return fmt.Errorf("Put(%q): %w", k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, s, "many/"); !slices.Equal(got, want) {
		t.Errorf("List(many/) returned %d keys, want %d in order (first diff at %d)", len(got), n, firstDiff(got, want))
	}
	all := listKeys(t, s, "")
	if len(all) != n+3 || !slices.IsSorted(all) {
		t.Errorf("List(\"\") returned %d keys (sorted: %v), want %d sorted", len(all), slices.IsSorted(all), n+3)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// testListStop checks that an error from fn ends the listing and is returned.
func testListStop(t *testing.T, s storage.Store) {
	for _, k := range []string{"s/1", "s/2", "s/3", "s/4"} {
		putBytes(t, s, k, k)
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(t.Context(), "s/", func(storage.ObjectInfo) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("List with fn failing on call 2: err %v after %d calls, want %v after 2", err, calls, stop)
	}
}
