package repository

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	var ids []string
	for range 2 {
		if err := repo.WaitPastNewest(ctx); err != nil {
			t.Fatal(err)
		}
		w := repo.NewWriter(SnapshotInfo{Host: "h"})
		if _, err := w.WritePart(ctx, "paths", "a", writeString("a")); err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for ref, want := range map[string]string{"latest": ids[1], "latest~0": ids[1], "latest~1": ids[0], ids[0][:len(ids[0])-4]: ids[0], ids[1]: ids[1]} {
		if got, err := repo.Resolve(ctx, ref); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %s", ref, got, err, want)
		}
	}
	if _, err := repo.Resolve(ctx, "latest~2"); !errors.Is(err, ErrSnapshotNotFound) || !strings.Contains(err.Error(), "holds 2 snapshots") {
		t.Errorf("latest~2: %v", err)
	}
	for _, bad := range []string{"latest~", "latest~x", "latest~-1"} {
		if _, err := repo.Resolve(ctx, bad); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("%s: %v, want ErrInvalidReference", bad, err)
		}
	}
}
