package volumes

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	bvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// memSink keeps parts in memory: these tests exercise the volumes code,
// the repository has its own.
type memSink struct{ parts []snapshot.Part }

func (s *memSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	var buf bytes.Buffer
	meta, err := produce(ctx, &buf)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	s.parts = append(s.parts, snapshot.Part{Source: volumespart.SourceName, Name: name, Meta: raw, RawSize: int64(buf.Len())})
	data[name] = buf.Bytes()
	return nil
}

// data holds the streams of the parts of the current test by name.
var data = map[string][]byte{}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// backupParts runs the volumes source with cfg and returns its parts.
func backupParts(t *testing.T, eng *engine.Engine, cfg bvolumes.Config) []snapshot.Part {
	t.Helper()
	cfg.Engine, cfg.Log = eng, logger(t)
	var sink memSink
	if err := bvolumes.New(cfg).Snapshot(t.Context(), &sink); err != nil {
		t.Fatal(err)
	}
	voltest.NoHelpers(t, eng, eng.Owner())
	return sink.parts
}

func metaOf(t *testing.T, p snapshot.Part) volumespart.Meta {
	t.Helper()
	m, err := partMeta(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// restorer returns a restorer on eng with a static helper binary.
func restorer(t *testing.T, eng *engine.Engine, cfg Config) *Restorer {
	cfg.Engine, cfg.Log, cfg.Out = eng, logger(t), io.Discard
	cfg.HelperBinary = voltest.Zuulstate(t)
	r := New(cfg)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		voltest.NoHelpers(t, eng, eng.Owner())
	})
	return r
}

// restorePart checks and restores one part from data.
func restorePart(t *testing.T, r *Restorer, p snapshot.Part) error {
	t.Helper()
	if err := r.Check(t.Context(), p); err != nil {
		return err
	}
	open := func(context.Context, snapshot.Part) (io.Reader, func() error, error) {
		return bytes.NewReader(data[p.Name]), func() error { return nil }, nil
	}
	return r.Restore(t.Context(), []snapshot.Part{p}, open)
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: foreign owners, device nodes, volume mountpoints")
	}
}
