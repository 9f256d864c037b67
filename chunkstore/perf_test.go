package chunkstore

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/zuulstate/zuulstate/dirtar"
)

// TestPerfTree backs up $PERF_TREE twice (for profiling by hand).
func TestPerfTree(t *testing.T) {
	root := os.Getenv("PERF_TREE")
	if root == "" {
		t.Skip("PERF_TREE not set")
	}
	f := newFixture(t, true)
	tarOf := func(w io.Writer) error {
		_, err := dirtar.Write(context.Background(), w, root, dirtar.WriteOptions{})
		return err
	}
	_, stats := f.backup("s1", map[string]func(io.Writer) error{"logs": tarOf}, PartOptions{Parent: true})
	t.Logf("%+v", stats["logs"])
}
