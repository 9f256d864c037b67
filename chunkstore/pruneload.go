package chunkstore

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/storage"
)

// retained asks a store with S3 Object Lock whether key may be deleted.
func (p *prunePlan) retained(ctx context.Context, key string) (bool, error) {
	ret, ok := p.store.(storage.Retainer)
	if !ok {
		return false, nil
	}
	until, err := ret.RetainedUntil(ctx, key)
	if err != nil {
		return false, fmt.Errorf("retention of %s: %w", key, err)
	}
	return !until.IsZero(), nil
}

// load reads every index object and keeps each live chunk at its first
// intact location (a pack that exists with the recorded size), else at its
// first location.
func (p *prunePlan) load(ctx context.Context, live LiveSet) error {
	parsed := make([][]IndexEntry, len(p.objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, obj := range p.objects {
		g.Go(func() error {
			var err error
			parsed[i], err = readIndexObject(gctx, p.store, obj.key)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	type fallback struct {
		e   IndexEntry
		obj *pruneObject
	}
	fallbacks := map[ID]fallback{}
	added := map[ID]struct{}{} // the index is searchable only once sealed
	has := func(id ID) bool { _, ok := added[id]; return ok }
	var dropped []IndexEntry
	for i, obj := range p.objects {
		for _, e := range parsed[i] {
			u := p.pack(e.Pack)
			u.indexed, u.indexSize = true, e.PackSize
			obj.packs[e.Pack] = struct{}{}
			_, isLive := live[e.ID]
			switch {
			case !isLive || has(e.ID):
				obj.dirty = true
				p.stats.DeadEntries++
				dropped = append(dropped, e)
			case !u.intact(e.PackSize):
				if _, ok := fallbacks[e.ID]; !ok {
					fallbacks[e.ID] = fallback{e, obj}
				}
			default:
				p.ix.add(e)
				added[e.ID] = struct{}{}
			}
		}
		parsed[i] = nil
	}
	for id, f := range fallbacks {
		if has(id) {
			f.obj.dirty = true
			p.stats.DeadEntries++
			dropped = append(dropped, f.e)
			continue
		}
		p.ix.add(f.e)
		added[id] = struct{}{}
	}
	p.ix.seal()
	p.stats.LiveChunks = p.ix.Len()
	for _, s := range p.ix.slots {
		p.packs[p.ix.packs[s.pack].key].live += int64(s.stored)
	}
	p.countDead(dropped)
	return nil
}

// countDead adds up the space of dropped entries in each pack: each place
// once, and not where an entry only repeats a live chunk's location.
func (p *prunePlan) countDead(dropped []IndexEntry) {
	type place struct {
		pack   string
		offset int64
	}
	seen := map[place]struct{}{}
	for _, e := range dropped {
		if loc, ok := p.ix.Lookup(e.ID); ok && loc.Pack == e.Pack && loc.Offset == e.Offset {
			continue
		}
		pl := place{e.Pack, e.Offset}
		if _, ok := seen[pl]; ok {
			continue
		}
		seen[pl] = struct{}{}
		p.packs[e.Pack].dead += int64(e.StoredSize)
	}
}
