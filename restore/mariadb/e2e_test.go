package mariadb

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"

	bm "github.com/zuulstate/zuulstate/backup/mariadb"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/repository"
)

// memSink collects the dumper's parts in memory.
type memSink struct {
	mu sync.Mutex
	f  *fakeParts
}

func (s *memSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	var buf bytes.Buffer
	meta, err := produce(ctx, &buf)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.add(name, buf.String(), meta)
	return nil
}

// TestDumpRestoreTorture dumps the torture database from prod with
// backup/mariadb and restores it into dev under another name.
func TestDumpRestoreTorture(t *testing.T) {
	prod, dev := mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	src := mariadbtest.CreateDB(t, prod, "zrt_src")
	mariadbtest.LoadTorture(t, prod, src)
	cfg := devConfig(t)
	dst := dbName(t, adminDB(t, cfg), "zrt_dst")

	sink := &memSink{f: newFakeParts()}
	pc := mariadbtest.Config(t, "prod")
	snap := bm.New(bm.Config{Addr: pc.Addr, User: pc.User, Password: pc.Passwd, Databases: []string{src}, Workers: 2, ChunkRows: 50})
	if err := snap.Snapshot(t.Context(), sink); err != nil {
		t.Fatalf("dump: %v", err)
	}
	// The repository keeps parts in the order they were written; any
	// order must do, so sort by name.
	sort.Slice(sink.f.parts, func(i, j int) bool { return sink.f.parts[i].Name < sink.f.parts[j].Name })
	var names []string
	for _, p := range sink.f.parts {
		names = append(names, p.Name)
		if !json.Valid(p.Meta) {
			t.Errorf("part %s: bad meta", p.Name)
		}
	}
	t.Logf("parts: %s", strings.Join(names, " "))

	var out bytes.Buffer
	cfg.DBMap, cfg.Out = map[string]string{src: dst}, &out
	r := New(cfg)
	defer r.Close()
	for _, p := range sink.f.parts {
		if err := r.Check(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("plan:\n%s", strings.Join(r.Plan(sink.f.parts), "\n"))
	if err := r.Restore(t.Context(), sink.f.parts, sink.f.open); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	t.Logf("summary:\n%s", out.String())
	mariadbtest.Compare(t, prod, src, dev, dst)
}
