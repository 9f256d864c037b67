package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// execute carries the plan out in the order that keeps every live chunk
// reachable at every moment (see Prune).
func (p *prunePlan) execute(ctx context.Context) error {
	// What was planned is recounted as it happens.
	p.stats.BytesDeleted, p.stats.BytesWritten, p.stats.IndexDeleted = 0, 0, 0
	p.stats.DeadPacks, p.stats.RepackedPacks, p.stats.UnindexedPacks = 0, 0, 0
	if p.rewrite {
		moved, err := p.repack(ctx)
		if err != nil {
			return err
		}
		if err := p.writeIndex(ctx, moved); err != nil {
			return err
		}
		if err := p.deleteIndexObjects(ctx); err != nil {
			return err
		}
	}
	return p.deletePacks(ctx)
}

// repack copies the live chunks of the packs to rewrite into new packs,
// stored bytes as they are, checking each against its stored sha256: a
// damaged chunk stops prune before anything is deleted.
func (p *prunePlan) repack(ctx context.Context) (map[ID]Location, error) {
	packs := p.repackEntries()
	if len(packs) == 0 {
		return nil, nil
	}
	pw := newPackWriter(ctx, p.store, p.o.PackSize)
	defer pw.stop()
	for _, entries := range packs {
		if err := p.copyChunks(ctx, pw, entries); err != nil {
			pw.stop()
			pw.written() // wait for the uploads; a later prune removes what they left
			return nil, err
		}
	}
	written, err := pw.flush(ctx)
	if err != nil {
		return nil, err
	}
	moved := make(map[ID]Location, len(written))
	for _, e := range written {
		moved[e.ID] = e.Location
		p.written[e.Pack] = true
	}
	p.stats.PacksWritten, p.stats.BytesWritten = packSizes(written)
	p.o.Log.Info("prune: live chunks copied", "from_packs", len(packs), "to_packs", p.stats.PacksWritten, "bytes", p.stats.CopiedBytes)
	return moved, nil
}

// packSizes counts the distinct packs of entries and adds up their sizes.
func packSizes(entries []IndexEntry) (int, int64) {
	seen := map[string]struct{}{}
	var n int64
	for _, e := range entries {
		if _, ok := seen[e.Pack]; !ok {
			seen[e.Pack] = struct{}{}
			n += e.PackSize
		}
	}
	return len(seen), n
}

// copyChunks reads one pack's chunks (sorted by offset) in ranges of
// adjacent chunks and adds each to pw.
func (p *prunePlan) copyChunks(ctx context.Context, pw *packWriter, entries []IndexEntry) error {
	for start := 0; start < len(entries); {
		end := start + 1
		for end < len(entries) && entries[end].Offset == entries[end-1].Offset+int64(entries[end-1].StoredSize) &&
			entries[end].Offset+int64(entries[end].StoredSize)-entries[start].Offset <= fetchStored {
			end++
		}
		first, last := entries[start], entries[end-1]
		data, err := readRange(ctx, p.store, first.Pack, first.Offset, last.Offset+int64(last.StoredSize)-first.Offset, nil)
		if err != nil {
			return err
		}
		for _, e := range entries[start:end] {
			stored := data[e.Offset-first.Offset : e.Offset-first.Offset+int64(e.StoredSize)]
			if sha256.Sum256(stored) != e.StoredSHA {
				return fmt.Errorf("chunk %s in %s: %w: stored bytes differ from the index; prune stopped before deleting anything (run 'zuulstate verify --all --deep')", e.ID, e.Pack, snapshot.ErrCorrupt)
			}
			if err := pw.add(ctx, e.ID, stored, int(e.RawSize), e.Compression, e.Encrypted); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// writeIndex writes the new index: every live chunk at its location, the
// copied ones at their new one, ordered by pack and offset.
func (p *prunePlan) writeIndex(ctx context.Context, moved map[ID]Location) error {
	type place struct {
		id     ID
		pack   string
		offset int64
	}
	order := make([]place, 0, p.ix.Len())
	for i, id := range p.ix.ids {
		s := p.ix.slots[i]
		pl := place{id: id, pack: p.ix.packs[s.pack].key, offset: int64(s.offset)}
		if loc, ok := moved[id]; ok {
			pl.pack, pl.offset = loc.Pack, loc.Offset
		}
		order = append(order, pl)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].pack != order[j].pack {
			return order[i].pack < order[j].pack
		}
		return order[i].offset < order[j].offset
	})
	p.stats.IndexWritten = 0
	for start := 0; start < len(order); start += maxEntriesPerIndex {
		batch := order[start:min(start+maxEntriesPerIndex, len(order))]
		entries := make([]IndexEntry, len(batch))
		for i, pl := range batch {
			loc, ok := moved[pl.id]
			if !ok {
				loc, _ = p.ix.Lookup(pl.id)
			}
			entries[i] = IndexEntry{ID: pl.id, Location: loc}
		}
		key, data, err := encodeIndexObject(entries)
		if err != nil {
			return err
		}
		if err := p.store.Put(ctx, key, bytes.NewReader(data)); err != nil {
			return fmt.Errorf("write index %s: %w", key, err)
		}
		p.stats.IndexWritten++
		p.stats.BytesWritten += int64(len(data))
		for i, obj := range p.objects {
			if obj.key == key { // the same content as an old object: keep it
				p.objects = append(p.objects[:i], p.objects[i+1:]...)
				break
			}
		}
	}
	p.o.Log.Info("prune: new index written", "objects", p.stats.IndexWritten, "chunks", len(order))
	return nil
}

// deleteIndexObjects deletes the old index objects. One that object lock
// keeps pins every pack it names.
func (p *prunePlan) deleteIndexObjects(ctx context.Context) error {
	for _, obj := range p.objects {
		if obj.retained { // reported by the plan
			continue
		}
		err := p.store.Delete(ctx, obj.key)
		switch {
		case errors.Is(err, storage.ErrRetained):
			obj.retained = true
			p.stats.Retained = append(p.stats.Retained, obj.key)
			for k := range obj.packs {
				p.packs[k].pinned = true
			}
		case err != nil:
			return fmt.Errorf("delete index %s: %w", obj.key, err)
		default:
			p.stats.IndexDeleted++
			p.stats.BytesDeleted += obj.size
		}
	}
	p.o.Log.Info("prune: old index objects deleted", "objects", p.stats.IndexDeleted)
	return nil
}

// deletePacks deletes the packs no remaining index object names.
func (p *prunePlan) deletePacks(ctx context.Context) error {
	for _, k := range p.sortedPacks() {
		u := p.packs[k]
		if u.fate != dropDead && u.fate != repack && u.fate != dropUnindexed {
			continue
		}
		if u.fate != dropUnindexed && !p.rewrite || p.written[k] {
			// An index still names it (cannot happen: see decide), or
			// the copy came out the same bytes as the pack.
			continue
		}
		if u.pinned {
			p.stats.Retained = append(p.stats.Retained, k)
			continue
		}
		err := p.store.Delete(ctx, k)
		switch {
		case errors.Is(err, storage.ErrRetained):
			p.stats.Retained = append(p.stats.Retained, k)
			continue
		case err != nil:
			return fmt.Errorf("delete pack %s: %w", k, err)
		}
		p.stats.BytesDeleted += u.size
		switch u.fate {
		case dropDead:
			p.stats.DeadPacks++
		case repack:
			p.stats.RepackedPacks++
		default:
			p.stats.UnindexedPacks++
		}
	}
	p.o.Log.Info("prune: packs deleted", "no_live_chunk", p.stats.DeadPacks, "rewritten", p.stats.RepackedPacks, "unindexed", p.stats.UnindexedPacks)
	return nil
}
