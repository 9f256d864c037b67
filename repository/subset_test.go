package repository

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

func TestParseDataSubset(t *testing.T) {
	for _, bad := range []string{"", "0/3", "4/3", "1/0", "a/b", "1/", "0%", "101%", "-5%", "NaN%", "x%", "10"} {
		if _, err := ParseDataSubset(bad); err == nil {
			t.Errorf("ParseDataSubset(%q) accepted", bad)
		}
	}
	// n/m: every key falls in exactly one of the m groups, the same one
	// on every run.
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("packs/%02x/%064x.pack", i%256, i))
	}
	groups := make([]*DataSubset, 3)
	for n := range groups {
		groups[n] = mustSubset(t, fmt.Sprintf("%d/3", n+1))
	}
	again := mustSubset(t, "2/3")
	for _, k := range keys {
		in := 0
		for _, g := range groups {
			if g.Contains(k) {
				in++
			}
		}
		if in != 1 || again.Contains(k) != groups[1].Contains(k) {
			t.Fatalf("%s is in %d groups, or not in the same one twice", k, in)
		}
	}
	for n, g := range groups {
		if picked, asked := g.Counts(); asked != len(keys) || picked < 60 || picked > 140 {
			t.Errorf("group %d/3 picked %d of %d", n+1, picked, asked)
		}
	}
	all, some := mustSubset(t, "100%"), mustSubset(t, "10%")
	for _, k := range keys {
		all.Contains(k)
		some.Contains(k)
	}
	if picked, _ := all.Counts(); picked != len(keys) {
		t.Errorf("100%% picked %d of %d", picked, len(keys))
	}
	if picked, _ := some.Counts(); picked < 10 || picked > 60 {
		t.Errorf("10%% picked %d of %d", picked, len(keys))
	}
}

func mustSubset(t *testing.T, s string) *DataSubset {
	t.Helper()
	d, err := ParseDataSubset(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestVerifySubset: a damaged byte in one pack is found by the group that
// holds the pack and by --deep, not by the other groups (which read other
// packs) nor by a quick verify.
func TestVerifySubset(t *testing.T) {
	repo, dir := newRepo(t, Options{Dedup: true, StateDir: t.TempDir(), PackSize: 512 << 10})
	ctx := t.Context()
	w := repo.NewWriter(SnapshotInfo{})
	for i := range 3 {
		if _, err := w.WritePart(ctx, "paths", fmt.Sprint("p", i), randomPart(1<<20, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var packs []string
	_ = repo.store.List(ctx, chunkstore.PackPrefix, func(oi storage.ObjectInfo) error { packs = append(packs, oi.Key); return nil })
	if len(packs) < 3 {
		t.Fatalf("%d packs, want several", len(packs))
	}
	damaged := packs[0]
	p := filepath.Join(dir, filepath.FromSlash(damaged))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[10] ^= 1
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(o VerifyOptions) error {
		_, err := New(repo.store, repo.opts).VerifyWith(ctx, m, o)
		if err != nil && !errors.Is(err, snapshot.ErrCorrupt) {
			t.Fatal(err)
		}
		return err
	}
	if err := verify(VerifyOptions{}); err != nil {
		t.Fatalf("a quick verify read data: %v", err)
	}
	if err := verify(VerifyOptions{Deep: true}); err == nil {
		t.Fatal("verify --deep missed the damaged pack")
	}
	found := 0
	for n := 1; n <= 4; n++ {
		s := mustSubset(t, fmt.Sprintf("%d/4", n))
		err := verify(VerifyOptions{Subset: s})
		if (err != nil) != s.Contains(damaged) {
			t.Errorf("subset %d/4 (holds the damaged pack: %v): %v", n, s.Contains(damaged), err)
		}
		if err != nil {
			found++
			if !strings.Contains(err.Error(), "stored bytes differ") && !strings.Contains(err.Error(), "integrity") {
				t.Errorf("unexpected error: %v", err)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d of the 4 groups found the damage, want 1", found)
	}
}
