package chunkstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

func TestPackFate(t *testing.T) {
	now := time.Now()
	old, young := now.Add(-time.Hour), now.Add(-time.Minute)
	listed := func(u packUsage) packUsage {
		u.listed, u.indexed, u.size, u.indexSize, u.modTime = true, true, 1000, 1000, old
		return u
	}
	for _, c := range []struct {
		name    string
		u       packUsage
		missing bool // some live chunk is in no index
		want    fate
	}{
		{"all live", listed(packUsage{live: 900}), false, keep},
		{"no live chunk", listed(packUsage{dead: 900}), false, dropDead},
		{"mostly dead", listed(packUsage{live: 300, dead: 600}), false, repack},
		{"half live stays", listed(packUsage{live: 450, dead: 450}), false, keep},
		{"size differs from the index", func() packUsage { u := listed(packUsage{live: 100, dead: 800}); u.size = 999; return u }(), false, damaged},
		{"missing", packUsage{indexed: true, live: 10}, false, missing},
		{"unindexed, old", packUsage{listed: true, size: 1000, modTime: old}, false, dropUnindexed},
		{"unindexed, young", packUsage{listed: true, size: 1000, modTime: young}, false, keepUnindexed},
		{"unindexed, old, a live chunk in no index", packUsage{listed: true, size: 1000, modTime: old}, true, keepUnindexed},
	} {
		u := c.u
		u.decide(0.5, 10*time.Minute, now, c.missing)
		if u.fate != c.want {
			t.Errorf("%s: fate %d, want %d", c.name, u.fate, c.want)
		}
	}
	u := listed(packUsage{live: 300, dead: 600})
	if u.decide(0, 0, now, false); u.fate != keep {
		t.Errorf("threshold 0 rewrote a pack")
	}
	u = listed(packUsage{live: 890, dead: 10})
	if u.decide(1, 0, now, false); u.fate != repack {
		t.Errorf("threshold 1 kept a pack with a dead chunk")
	}
}

// nights backs up four "nights" of three parts into f: "db" changes
// every night, "log" grows by 1.5 MiB a night, "static" never changes. A
// night's new chunks share one pack (16 MiB holds them all, whatever
// the keyed chunk boundaries), so a pack of an old night holds chunks
// of "db" that die with it and of "log" that later nights still need.
func nights(t *testing.T, f *fixture) (lists []map[string][]byte, data []map[string][]byte) {
	t.Helper()
	static := randomBytes(7, 3<<20)
	var log []byte
	for n := range 4 {
		log = append(log, randomBytes(uint64(200+n), 3<<19)...)
		d := map[string][]byte{"db": randomBytes(uint64(100+n), 3<<20), "log": slices.Clone(log), "static": static}
		lists = append(lists, f.backupPacked(string(rune('a'+n)), d, 16<<20))
		data = append(data, d)
	}
	return lists, data
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// backupPacked writes one snapshot with packs sealed at packSize, its
// parts in name order.
func (f *fixture) backupPacked(id string, parts map[string][]byte, packSize int) map[string][]byte {
	f.t.Helper()
	ctx := f.t.Context()
	cs, err := OpenForBackup(ctx, f.store, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := cs.Begin(ctx, id, SessionOptions{PackSize: packSize})
	if err != nil {
		f.t.Fatal(err)
	}
	lists := map[string][]byte{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range parts {
			if !yield(k) {
				return
			}
		}
	}) {
		var list bytes.Buffer
		pw, err := s.NewPart(ctx, &list, PartOptions{Source: "test", Name: name})
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := pw.Write(parts[name]); err != nil {
			f.t.Fatal(err)
		}
		if _, err := pw.Close(); err != nil {
			f.t.Fatal(err)
		}
		lists[name] = list.Bytes()
	}
	if err := s.Finish(ctx); err != nil {
		f.t.Fatal(err)
	}
	return lists
}

func liveOf(t *testing.T, lists ...map[string][]byte) LiveSet {
	t.Helper()
	live := LiveSet{}
	for _, l := range lists {
		for _, list := range l {
			if err := live.AddList(bytes.NewReader(list)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return live
}

// readBack reads a part through a freshly loaded index.
func readBack(ctx context.Context, store storage.Store, opts Options, list []byte) ([]byte, error) {
	cs, err := Open(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	ix, err := LoadIndex(ctx, store, true)
	if err != nil {
		return nil, err
	}
	r := cs.OpenPart(ctx, bytes.NewReader(list), ix, opts.RecipientNames)
	defer r.Close()
	return io.ReadAll(r)
}

func keysOf(t *testing.T, store storage.Store, prefix string) (keys []string, bytes int64) {
	t.Helper()
	if err := store.List(t.Context(), prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		bytes += oi.Size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys, bytes
}

// TestPrune: of four nights the last two stay. A dry run changes nothing;
// prune frees the dead nights' packs, rewrites mixed ones, leaves one
// index; the kept nights read back; a second prune finds nothing to do.
func TestPrune(t *testing.T) {
	for _, enc := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[enc], func(t *testing.T) {
			f := newFixture(t, enc)
			ctx := t.Context()
			lists, data := nights(t, f)
			live := liveOf(t, lists[2], lists[3])
			packsBefore, sizeBefore := keysOf(t, f.store, PackPrefix)
			dry, err := Prune(ctx, f.store, live, PruneOptions{RepackThreshold: 1, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if packs, size := keysOf(t, f.store, PackPrefix); !slices.Equal(packs, packsBefore) || size != sizeBefore {
				t.Fatal("the dry run changed the packs")
			}
			st, err := Prune(ctx, f.store, live, PruneOptions{RepackThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			packsAfter, sizeAfter := keysOf(t, f.store, PackPrefix)
			idx, _ := keysOf(t, f.store, IndexPrefix)
			t.Logf("packs %d → %d, %d → %d bytes; stats %+v", len(packsBefore), len(packsAfter), sizeBefore, sizeAfter, *st)
			switch {
			case st.RepackedPacks == 0 || st.PacksWritten == 0:
				t.Errorf("want rewritten packs: %+v", *st)
			case dry.DeadPacks != st.DeadPacks || dry.RepackedPacks != st.RepackedPacks || dry.IndexDeleted != st.IndexDeleted ||
				dry.PacksWritten != st.PacksWritten || dry.CopiedBytes != st.CopiedBytes:
				t.Errorf("dry run planned %+v, prune did %+v", *dry, *st)
			case len(idx) != 1 || st.IndexObjects != 4 || st.IndexDeleted != 4:
				t.Errorf("index objects after: %v (%+v)", idx, *st)
			case sizeBefore-sizeAfter < 5<<20 || st.Freed() < 5<<20:
				t.Errorf("freed %d bytes of packs (reported %d), want at least two nights' 3 MiB less what stays", sizeBefore-sizeAfter, st.Freed())
			case st.LiveChunks != len(live):
				t.Errorf("%d live chunks in the new index, want %d", st.LiveChunks, len(live))
			}
			for n := 2; n < 4; n++ {
				for name, list := range lists[n] {
					got, err := readBack(ctx, f.store, f.opts, list)
					if err != nil || !bytes.Equal(got, data[n][name]) {
						t.Fatalf("night %d part %s after prune: %v", n, name, err)
					}
				}
			}
			again, err := Prune(ctx, f.store, live, PruneOptions{RepackThreshold: 1})
			if err != nil || again.PacksDeleted() != 0 || again.IndexWritten != 0 || again.IndexDeleted != 0 {
				t.Errorf("second prune: %+v %v", again, err)
			}
		})
	}
}

// TestPruneThreshold: the threshold decides which packs are rewritten;
// 0 rewrites none.
func TestPruneThreshold(t *testing.T) {
	f := newFixture(t, false)
	lists, _ := nights(t, f)
	live := liveOf(t, lists[1], lists[3])
	var rewritten []int
	for _, th := range []float64{0, 0.5, 1} {
		st, err := Prune(t.Context(), f.store, live, PruneOptions{RepackThreshold: th, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		rewritten = append(rewritten, st.RepackedPacks)
	}
	if rewritten[0] != 0 || rewritten[2] == 0 || rewritten[1] > rewritten[2] {
		t.Errorf("packs rewritten at thresholds 0, 0.5, 1: %v", rewritten)
	}
}

func TestPruneWithoutChunkStore(t *testing.T) {
	f := newFixture(t, false)
	if ok, err := Initialized(t.Context(), f.store); ok || err != nil {
		t.Fatalf("Initialized on an empty store: %v %v", ok, err)
	}
	if !strings.Contains(PackKey([32]byte{}), PackPrefix) {
		t.Fatal("pack key layout")
	}
}
