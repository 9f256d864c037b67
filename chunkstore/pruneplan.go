package chunkstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// fate is what prune does with one pack.
type fate int

const (
	keep          fate = iota
	dropDead           // no live chunk
	repack             // mostly dead: copy its live chunks, then delete it
	dropUnindexed      // no index names it, older than the grace period
	keepUnindexed      // no index names it, but young (or chunks are missing)
	missing            // the index names it, the store does not hold it
	damaged            // its size differs from the index's: left for verify
)

// packUsage is one pack as prune sees it.
type packUsage struct {
	key       string
	listed    bool
	size      int64 // as listed
	modTime   time.Time
	indexed   bool
	indexSize int64 // as the index records it
	live      int64 // stored bytes of the live chunks located here
	dead      int64 // stored bytes of the other chunks the index places here
	pinned    bool  // named by an index object that stays (object lock)
	fate      fate
}

// intact reports whether the pack exists with the size an entry records.
func (u *packUsage) intact(size int64) bool { return u.listed && u.size == size }

// decide sets the pack's fate. Unindexed packs are deleted only when every
// live chunk was found in an index: otherwise one of them may hold it.
func (u *packUsage) decide(threshold float64, grace time.Duration, now time.Time, chunksMissing bool) {
	switch {
	case !u.listed:
		u.fate = missing
	case !u.indexed && (chunksMissing || now.Sub(u.modTime) < grace):
		u.fate = keepUnindexed
	case !u.indexed:
		u.fate = dropUnindexed
	case u.live == 0:
		u.fate = dropDead
	case u.size != u.indexSize:
		u.fate = damaged
	case u.dead > 0 && float64(u.live) < threshold*float64(u.live+u.dead):
		u.fate = repack
	default:
		u.fate = keep
	}
}

// pruneObject is one index object before prune.
type pruneObject struct {
	key      string
	size     int64
	packs    map[string]struct{}
	dirty    bool // names a dead chunk, or a chunk an earlier object names
	retained bool
}

// prunePlan is everything prune decided before it changes anything.
type prunePlan struct {
	store   storage.Store
	o       PruneOptions
	ix      *Index // live chunks at the location each keeps
	packs   map[string]*packUsage
	objects []*pruneObject
	rewrite bool            // write a new index and delete the old objects
	written map[string]bool // packs written by repack
	stats   PruneStats
}

func plan(ctx context.Context, store storage.Store, live LiveSet, o PruneOptions) (*prunePlan, error) {
	p := &prunePlan{store: store, o: o, ix: newIndex(true), packs: map[string]*packUsage{}, written: map[string]bool{}}
	err := store.List(ctx, PackPrefix, func(oi storage.ObjectInfo) error {
		if ValidPackKey(oi.Key) {
			u := p.pack(oi.Key)
			u.listed, u.size, u.modTime = true, oi.Size, oi.ModTime
			p.stats.Packs++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	err = store.List(ctx, IndexPrefix, func(oi storage.ObjectInfo) error {
		if _, ok := nameSum(oi.Key); ok {
			p.objects = append(p.objects, &pruneObject{key: oi.Key, size: oi.Size, packs: map[string]struct{}{}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list index objects: %w", err)
	}
	p.stats.IndexObjects = len(p.objects)
	for _, obj := range p.objects {
		if obj.retained, err = p.retained(ctx, obj.key); err != nil {
			return nil, err
		}
	}
	if err := p.load(ctx, live); err != nil {
		return nil, err
	}
	for id := range live {
		if !p.ix.Has(id) {
			p.stats.MissingChunks++
		}
	}
	if err := p.decide(ctx); err != nil {
		return nil, err
	}
	o.Log.Info("prune plan", "packs", p.stats.Packs, "live_chunks", p.stats.LiveChunks, "dead_entries", p.stats.DeadEntries,
		"dead_packs", p.stats.DeadPacks, "repack", p.stats.RepackedPacks, "unindexed", p.stats.UnindexedPacks,
		"index_objects", p.stats.IndexObjects, "rewrite_index", p.rewrite)
	return p, nil
}

func (p *prunePlan) pack(key string) *packUsage {
	u, ok := p.packs[key]
	if !ok {
		u = &packUsage{key: key}
		p.packs[key] = u
	}
	return u
}

// decide gives every pack its fate and says whether the index is
// rewritten: when packs are rewritten or deleted, when an index object
// names what no snapshot needs, or to merge several objects into one.
func (p *prunePlan) decide(ctx context.Context) error {
	deletable := 0
	for _, obj := range p.objects {
		if obj.retained {
			for k := range obj.packs {
				p.packs[k].pinned = true
			}
			continue
		}
		deletable++
		p.rewrite = p.rewrite || obj.dirty
	}
	p.rewrite = p.rewrite || deletable > 1
	now := time.Now()
	for _, k := range p.sortedPacks() {
		u := p.packs[k]
		u.decide(p.o.RepackThreshold, p.o.Grace, now, p.stats.MissingChunks > 0)
		if u.fate == dropDead || u.fate == repack || u.fate == dropUnindexed {
			// A retained index object names it, or it is retained itself.
			retained := u.pinned
			if !retained {
				var err error
				if retained, err = p.retained(ctx, k); err != nil {
					return err
				}
			}
			if retained {
				u.fate = keep
				p.stats.Retained = append(p.stats.Retained, k)
			}
		}
		p.rewrite = p.rewrite || u.fate == repack
		p.count(u)
	}
	if p.rewrite {
		for _, obj := range p.objects {
			if obj.retained {
				p.stats.Retained = append(p.stats.Retained, obj.key)
				continue
			}
			p.stats.IndexDeleted++
			p.stats.BytesDeleted += obj.size
		}
		p.stats.IndexWritten = (p.stats.LiveChunks + maxEntriesPerIndex - 1) / maxEntriesPerIndex
	}
	// The new packs, as the pack writer will seal them: after the chunk
	// that reaches the pack size.
	target := p.o.PackSize
	if target <= 0 {
		target = DefaultPackSize
	}
	filled := 0
	for _, entries := range p.repackEntries() {
		for _, e := range entries {
			if filled += int(e.StoredSize); filled >= target {
				p.stats.PacksWritten, filled = p.stats.PacksWritten+1, 0
			}
		}
	}
	if filled > 0 {
		p.stats.PacksWritten++
	}
	p.stats.BytesWritten = p.stats.CopiedBytes
	return nil
}

// repackEntries returns the live chunks of the packs to rewrite, pack by
// pack in key order, each pack's by offset: the order repack copies them.
func (p *prunePlan) repackEntries() [][]IndexEntry {
	byPack := map[string][]IndexEntry{}
	for _, id := range p.ix.ids {
		loc, _ := p.ix.Lookup(id)
		if p.packs[loc.Pack].fate == repack {
			byPack[loc.Pack] = append(byPack[loc.Pack], IndexEntry{ID: id, Location: loc})
		}
	}
	var out [][]IndexEntry
	for _, k := range p.sortedPacks() {
		if entries := byPack[k]; len(entries) > 0 {
			sort.Slice(entries, func(i, j int) bool { return entries[i].Offset < entries[j].Offset })
			out = append(out, entries)
		}
	}
	return out
}

func (p *prunePlan) count(u *packUsage) {
	switch u.fate {
	case dropDead:
		p.stats.DeadPacks++
	case repack:
		p.stats.RepackedPacks++
		p.stats.CopiedBytes += u.live
	case dropUnindexed:
		p.stats.UnindexedPacks++
	case keepUnindexed:
		p.stats.KeptUnindexed++
	case missing:
		p.stats.MissingPacks++
	default:
		return
	}
	if u.fate == dropDead || u.fate == repack || u.fate == dropUnindexed {
		p.stats.BytesDeleted += u.size
	}
}

func (p *prunePlan) sortedPacks() []string {
	keys := make([]string, 0, len(p.packs))
	for k := range p.packs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
