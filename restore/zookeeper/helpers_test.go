package zookeeper_test

import (
	"bytes"
	"log/slog"
	"testing"

	bzk "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	. "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// backupOf backs up cfg's selection into a sink.
func backupOf(t *testing.T, cfg bzk.Config) *zktest.Sink {
	t.Helper()
	sink := &zktest.Sink{Source: zktree.SourceName}
	if err := bzk.New(cfg).Snapshot(t.Context(), sink); err != nil {
		t.Fatalf("backup: %v", err)
	}
	return sink
}

// restoreRun is one restore through Check, Inspect and Restore, as
// restore.Run calls them; out collects the summary and log the warnings.
type restoreRun struct {
	out, log bytes.Buffer
}

func (rr *restoreRun) do(t *testing.T, cfg Config, sink *zktest.Sink) error {
	t.Helper()
	cfg.Out = &rr.out
	cfg.Log = slog.New(slog.NewTextHandler(&rr.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := New(cfg)
	defer r.Close()
	for _, p := range sink.Parts() {
		if err := r.Check(t.Context(), p); err != nil {
			return err
		}
	}
	if err := r.Inspect(t.Context(), sink.Parts(), sink.Open); err != nil {
		return err
	}
	return r.Restore(t.Context(), sink.Parts(), sink.Open)
}
