package zookeeper_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	. "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// TestTreePartReads: a restore reads the tree part once to inspect it and
// once to write it; the read-back walks only the target. When merging
// (--force) the read-back compares node by node and reads the part a third
// time.
func TestTreePartReads(t *testing.T) {
	sink, _, dst, _ := zuulSetup(t, zktree.ProfileZuul)
	for _, force := range []bool{false, true} {
		reads := 0
		open := func(ctx context.Context, p snapshot.Part) (io.Reader, func() error, error) {
			if p.Name == zktree.TreePart {
				reads++
			}
			return sink.Open(ctx, p)
		}
		var out bytes.Buffer
		r := New(Config{Conn: dst, Force: force, Out: &out})
		for _, p := range sink.Parts() {
			if err := r.Check(t.Context(), p); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Inspect(t.Context(), sink.Parts(), open); err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(t.Context(), sink.Parts(), open); err != nil {
			t.Fatalf("force %v: %v\n%s", force, err, out.String())
		}
		r.Close()
		want := 2
		if force {
			want = 3
		}
		if reads != want || !strings.Contains(out.String(), "digest matches the snapshot") {
			t.Errorf("force %v: tree part read %d times, want %d; summary:\n%s", force, reads, want, out.String())
		}
	}
}
