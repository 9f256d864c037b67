package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// pruneChunks is prune's format 3 step, after the snapshots are removed:
// the chunks that the remaining snapshots' chunk lists name are live (and
// those of parts without a manifest still inside the grace period: a
// backup may be about to write their manifest); the chunk store deletes
// or rewrites the packs that hold none or few of them. Format 2 parts name
// no chunks.
//
// Any doubt about what is live (a manifest or chunk list that cannot be
// read) stops this step before it deletes anything.
func (r *Repository) pruneChunks(ctx context.Context, o PruneOptions, res *PruneResult) error {
	ok, err := chunkstore.Initialized(ctx, r.store)
	if err != nil || !ok {
		return err
	}
	// The snapshots left: in a dry run, those the policy keeps and those
	// it cannot delete yet.
	var survivors []string
	if o.DryRun {
		retained := map[string]bool{}
		for _, rt := range res.Retained {
			retained[rt.ID] = !rt.Orphan
		}
		for _, d := range res.Decisions {
			if d.Keep || retained[d.ID] {
				survivors = append(survivors, d.ID)
			}
		}
	} else if survivors, err = r.IDs(ctx); err != nil {
		return err
	}
	live, err := r.liveChunks(ctx, survivors, res.SkippedOrphan)
	if err != nil {
		return fmt.Errorf("prune chunks (no pack or index object deleted): %w", err)
	}
	threshold := o.RepackThreshold
	switch {
	case threshold == 0:
		threshold = chunkstore.DefaultRepackThreshold
	case threshold < 0:
		threshold = 0
	}
	stats, err := chunkstore.Prune(ctx, r.store, live, chunkstore.PruneOptions{
		RepackThreshold: threshold, Grace: o.Grace, PackSize: r.opts.PackSize, DryRun: o.DryRun, Log: o.Log,
	})
	res.Chunks = stats
	return err
}

// liveChunks collects the chunks named by the chunk lists of snapshots ids
// and of the parts without a manifest of snapshots orphans.
func (r *Repository) liveChunks(ctx context.Context, ids, orphans []string) (chunkstore.LiveSet, error) {
	live := chunkstore.LiveSet{}
	for _, id := range ids {
		m, err := r.Manifest(ctx, id)
		if errors.Is(err, ErrSnapshotNotFound) {
			continue // deleted since it was listed: only prune deletes, and it holds the lock
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: cannot tell which chunks it needs: %w", id, err)
		}
		for _, p := range m.Parts {
			if p.Chunked == nil {
				continue
			}
			if err := r.addChunkList(ctx, live, p); err != nil {
				return nil, fmt.Errorf("snapshot %s: %w", id, err)
			}
		}
	}
	for _, id := range orphans {
		if err := r.addOrphanLists(ctx, live, id); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// addChunkList reads a chunk list through the manifest's checksums.
func (r *Repository) addChunkList(ctx context.Context, live chunkstore.LiveSet, p snapshot.Part) error {
	list, closer, err := r.openObject(ctx, p.ListPart())
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := live.AddList(list); err != nil {
		return fmt.Errorf("part %s/%s: %w: %w", p.Source, p.Name, snapshot.ErrCorrupt, err)
	}
	return list.Finish()
}

// addOrphanLists reads the chunk lists of a snapshot that has no manifest
// (yet): no checksum proves them, but they are what a backup wrote.
func (r *Repository) addOrphanLists(ctx context.Context, live chunkstore.LiveSet, id string) error {
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		return err
	}
	var keys []string
	err = r.store.List(ctx, snapshot.PartDir(id), func(oi storage.ObjectInfo) error {
		if strings.HasSuffix(oi.Key, ".chunks"+zc.Ext()) {
			keys = append(keys, oi.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list parts of snapshot %s: %w", id, err)
	}
	for _, k := range keys {
		if err := addRawList(ctx, r.store, zc, live, k); err != nil {
			return err
		}
	}
	return nil
}

func addRawList(ctx context.Context, store storage.Store, zc codec.Codec, live chunkstore.LiveSet, key string) error {
	rc, err := store.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	zr, err := zc.NewStreamReader(rc)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", key, snapshot.ErrCorrupt, err)
	}
	defer zr.Close()
	if err := live.AddList(zr); err != nil {
		return fmt.Errorf("%s: %w: %w", key, snapshot.ErrCorrupt, err)
	}
	return nil
}
