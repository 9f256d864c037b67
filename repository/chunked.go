package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
)

// chunkOptions are the chunk store options this repository was given.
func (r *Repository) chunkOptions() chunkstore.Options {
	o := r.opts
	return chunkstore.Options{Recipients: o.Encode.Recipients, RecipientNames: o.RecipientNames, Identities: o.Identities, StateDir: o.StateDir}
}

// session opens the chunk store for this snapshot at its first chunked
// part; the caller of the backup holds the lock by then.
type session struct {
	once sync.Once
	s    *chunkstore.Session
	err  error
}

func (w *Writer) chunkSession(ctx context.Context) (*chunkstore.Session, error) {
	w.chunks.once.Do(func() {
		cs, err := chunkstore.OpenForBackup(ctx, w.repo.store, w.repo.chunkOptions())
		if err != nil {
			w.chunks.err = err
			return
		}
		w.chunks.s, w.chunks.err = cs.Begin(ctx, w.manifest.ID, chunkstore.SessionOptions{PackSize: w.repo.opts.PackSize})
	})
	return w.chunks.s, w.chunks.err
}

// writeChunked cuts the part into chunks, stores the new ones in packs and
// writes the part's chunk list, compressed, where a format 2 part keeps its
// data.
func (w *Writer) writeChunked(ctx context.Context, source, name string, eo snapshot.EncodeOptions, produce Produce) (snapshot.Part, any, error) {
	s, err := w.chunkSession(ctx)
	if err != nil {
		return snapshot.Part{}, nil, err
	}
	key := snapshot.ChunkListKey(w.manifest.ID, source, name, codec.Default)
	if err := w.claimKey(key); err != nil {
		return snapshot.Part{}, nil, err
	}
	var meta any
	var stats chunkstore.PartStats
	var list snapshot.Sums
	err = w.streamObject(ctx, key, func(ctx context.Context, dst io.Writer) error {
		enc, err := snapshot.NewEncoder(dst, snapshot.EncodeOptions{Concurrency: 1})
		if err != nil {
			return err
		}
		pw, err := s.NewPart(ctx, enc, chunkstore.PartOptions{
			Source: source, Name: name, Compression: eo.Compression, Level: eo.Level,
			Parent: true, ForceRead: w.repo.opts.ForceRead,
		})
		if err != nil {
			enc.Close()
			return err
		}
		meta, err = produce(ctx, pw)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			pw.Abandon(err)
			enc.Close()
			return err
		}
		if stats, err = pw.Close(); err != nil {
			enc.Close()
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
		list = enc.Sums()
		return nil
	})
	if err != nil {
		return snapshot.Part{}, nil, err
	}
	part := snapshot.Part{
		Source: source, Name: name, Key: key,
		RawSize:    stats.RawSize,
		StoredSize: list.StoredSize, StoredSHA256: list.StoredSHA256,
		Compression: codec.Default,
		Chunked: &snapshot.Chunked{
			ListSize: list.RawSize, ListSHA256: list.RawSHA256, Refs: stats.Refs,
			NewChunks: stats.NewChunks, NewBytes: stats.NewBytes,
			ReusedFiles: stats.ReusedRecords, ReusedBytes: stats.ReusedBytes,
		},
	}
	if len(eo.Recipients) > 0 {
		part.Encryption = snapshot.EncryptionAge
		part.Recipients = w.repo.opts.RecipientNames
	}
	return part, meta, nil
}

// chunkStore opens the chunk store and loads its index for reading, once.
func (r *Repository) chunkStore(ctx context.Context) (*chunkstore.Store, *chunkstore.Index, error) {
	r.chunksOnce.Do(func() {
		r.chunks, r.chunksErr = chunkstore.Open(ctx, r.store, r.chunkOptions())
		if r.chunksErr == nil {
			r.chunkIndex, r.chunksErr = chunkstore.LoadIndex(ctx, r.store, true)
		}
		if errors.Is(r.chunksErr, chunkstore.ErrNotInitialized) {
			r.chunksErr = fmt.Errorf("%w: the snapshot has chunked parts, but %w", snapshot.ErrCorrupt, r.chunksErr)
		}
	})
	return r.chunks, r.chunkIndex, r.chunksErr
}

// openChunked opens a chunked part: its chunk list, decoded and checked
// against the manifest, feeds a reader that fetches the chunks it names.
func (r *Repository) openChunked(ctx context.Context, p snapshot.Part) (PartStream, io.Closer, error) {
	cs, ix, err := r.chunkStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	list, listCloser, err := r.openObject(ctx, p.ListPart())
	if err != nil {
		return nil, nil, err
	}
	pr := cs.OpenPart(ctx, list, ix, p.Recipients)
	cp := &chunkedPart{part: p, list: list, r: pr}
	return cp, closers{pr, listCloser}, nil
}

// chunkedPart checks at its end that the chunk list was intact and that
// the part has the size the manifest recorded.
type chunkedPart struct {
	part snapshot.Part
	list *snapshot.Decoder
	r    *chunkstore.PartReader
	err  error
}

func (c *chunkedPart) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if c.r.Size() > c.part.RawSize {
		c.err = fmt.Errorf("part %s/%s: %w: longer than the manifest says (%d bytes)", c.part.Source, c.part.Name, snapshot.ErrCorrupt, c.part.RawSize)
		return n - int(c.r.Size()-c.part.RawSize), c.err
	}
	if errors.Is(err, io.EOF) {
		if err := c.check(); err != nil {
			c.err = err
			return n, err
		}
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *chunkedPart) check() error {
	if err := c.list.Finish(); err != nil {
		return err
	}
	if c.r.Size() != c.part.RawSize {
		return fmt.Errorf("part %s/%s: %w: %d bytes, the manifest says %d", c.part.Source, c.part.Name, snapshot.ErrCorrupt, c.r.Size(), c.part.RawSize)
	}
	return nil
}

// Finish reads what the consumer left and returns the integrity verdict.
func (c *chunkedPart) Finish() error {
	if c.err == nil {
		_, _ = io.Copy(io.Discard, c)
	}
	if errors.Is(c.err, io.EOF) {
		return nil
	}
	return c.err
}
