package repository

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// SnapshotInfo is what the caller knows about a snapshot before it starts.
type SnapshotInfo struct {
	ToolVersion string
	Host        string
	Tags        []string
	Now         func() time.Time // for tests; nil means time.Now
}

// Writer writes the parts of one new snapshot and, on Commit, its manifest.
// Until Commit succeeds the snapshot does not exist: readers ignore parts
// without a manifest and prune removes them after a grace period.
type Writer struct {
	repo     *Repository
	manifest snapshot.Manifest
	now      func() time.Time

	chunks session // format 3: the chunk store session, opened at the first part

	mu      sync.Mutex
	written []string // keys of parts stored so far, for Abort
}

// NewWriter starts a new snapshot.
func (r *Repository) NewWriter(info SnapshotInfo) *Writer {
	now := info.Now
	if now == nil {
		now = time.Now
	}
	start := now().UTC()
	return &Writer{
		repo: r,
		now:  now,
		manifest: snapshot.Manifest{
			Format:      snapshot.FormatVersion,
			ID:          snapshot.NewID(start),
			ToolVersion: info.ToolVersion,
			Host:        info.Host,
			Start:       start,
			Tags:        info.Tags,
		},
	}
}

// ID is the new snapshot's id.
func (w *Writer) ID() string { return w.manifest.ID }

// Produce writes one part's raw bytes to out and returns the metadata to
// record with the part (any JSON-encodable value, or nil).
type Produce func(ctx context.Context, out io.Writer) (meta any, err error)

// WritePart streams one part into the store: produce's output is hashed,
// compressed and optionally encrypted on the way, with no temporary files and
// only the codec's buffers in memory. With Options.Dedup the part is cut
// into chunks and only chunks the repository lacks are stored (format 3).
// Safe for concurrent use.
func (w *Writer) WritePart(ctx context.Context, source, name string, produce Produce) (snapshot.Part, error) {
	if err := snapshot.CheckName("source", source); err != nil {
		return snapshot.Part{}, err
	}
	if err := snapshot.CheckName("part", name); err != nil {
		return snapshot.Part{}, err
	}
	opts := w.repo.opts
	eo := opts.Encode
	eo.Compression = cmp.Or(eo.Compression, codec.Default)
	if eo.Level == 0 {
		eo.Level = opts.SourceLevels[source]
	}
	var part snapshot.Part
	var meta any
	var err error
	if opts.Dedup {
		part, meta, err = w.writeChunked(ctx, source, name, eo, produce)
	} else {
		part, meta, err = w.writeWhole(ctx, source, name, eo, produce)
	}
	if err != nil {
		return snapshot.Part{}, fmt.Errorf("part %s/%s: %w", source, name, err)
	}
	if meta != nil {
		if part.Meta, err = json.Marshal(meta); err != nil {
			return snapshot.Part{}, fmt.Errorf("part %s/%s: encode metadata: %w", source, name, err)
		}
	}
	w.mu.Lock()
	w.manifest.Parts = append(w.manifest.Parts, part)
	w.mu.Unlock()
	return part, nil
}

// writeWhole stores the part as one object (format 2).
func (w *Writer) writeWhole(ctx context.Context, source, name string, eo snapshot.EncodeOptions, produce Produce) (snapshot.Part, any, error) {
	encrypted := len(eo.Recipients) > 0
	key := snapshot.PartKey(w.manifest.ID, source, name, eo.Compression, encrypted)
	if err := w.claimKey(key); err != nil {
		return snapshot.Part{}, nil, err
	}
	var meta any
	var sums snapshot.Sums
	err := w.streamObject(ctx, key, func(ctx context.Context, dst io.Writer) error {
		var err error
		meta, sums, err = encodePart(ctx, dst, eo, produce)
		return err
	})
	if err != nil {
		return snapshot.Part{}, nil, err
	}
	part := snapshot.Part{
		Source: source, Name: name, Key: key,
		RawSize: sums.RawSize, RawSHA256: sums.RawSHA256,
		StoredSize: sums.StoredSize, StoredSHA256: sums.StoredSHA256,
		Compression: eo.Compression,
	}
	if encrypted {
		part.Encryption = snapshot.EncryptionAge
		part.Recipients = w.repo.opts.RecipientNames
	}
	return part, meta, nil
}

// claimKey records key as written by this snapshot, for Abort, and refuses
// a part written twice.
func (w *Writer) claimKey(key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if slices.Contains(w.written, key) {
		return errors.New("written twice in one snapshot")
	}
	w.written = append(w.written, key)
	return nil
}

// streamObject stores what fill writes under key, through a pipe into the
// store's Put: nothing is spooled. A failing fill aborts the Put, leaving
// no object.
func (w *Writer) streamObject(ctx context.Context, key string, fill func(ctx context.Context, dst io.Writer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	putErr := make(chan error, 1)
	go func() {
		err := w.repo.store.Put(ctx, key, pr)
		// Unblock the producer if the store gave up first.
		pr.CloseWithError(errors.Join(err, errStoreClosed))
		putErr <- err
	}()
	err := fill(ctx, pw)
	_ = pw.CloseWithError(err) // nil closes cleanly: the store sees EOF
	if err != nil {
		cancel()
		<-putErr //nolint:errcheck // the producer's error is the cause; the store's follows from it
		return err
	}
	if err := <-putErr; err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

var errStoreClosed = errors.New("store stopped reading")

func encodePart(ctx context.Context, dst io.Writer, eo snapshot.EncodeOptions, produce Produce) (any, snapshot.Sums, error) {
	enc, err := snapshot.NewEncoder(dst, eo)
	if err != nil {
		return nil, snapshot.Sums{}, err
	}
	meta, err := produce(ctx, enc)
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	return meta, enc.Sums(), err
}

// Commit writes the manifest, which makes the snapshot exist.
func (w *Writer) Commit(ctx context.Context) (*snapshot.Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	m := w.manifest
	m.Parts = slices.Clone(w.manifest.Parts)
	w.mu.Unlock()
	m.End = w.now().UTC()
	m.Format = 2
	if w.chunks.s != nil {
		// Packs and the index first: the manifest may only name chunks
		// that exist.
		if err := w.chunks.s.Finish(ctx); err != nil {
			return nil, err
		}
		m.Format = 3
	}
	slices.SortFunc(m.Parts, func(a, b snapshot.Part) int {
		return strings.Compare(a.Source+"/"+a.Name, b.Source+"/"+b.Name)
	})
	data, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if err := w.repo.store.Put(ctx, snapshot.ManifestKey(m.ID), bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("write manifest of snapshot %s: %w", m.ID, err)
	}
	if w.chunks.s != nil {
		// Only a missing parent cache follows from a failure here: the
		// next backup reads every file once.
		_ = w.chunks.s.Commit()
	}
	return &m, nil
}

// Abort deletes the parts written so far. ctx should outlive the cancelled
// run (the caller gives it a short deadline of its own); what Abort cannot
// delete is left for prune, which removes parts without a manifest.
func (w *Writer) Abort(ctx context.Context) error {
	w.mu.Lock()
	keys := slices.Clone(w.written)
	w.mu.Unlock()
	var errs []error
	if w.chunks.s != nil {
		errs = append(errs, w.chunks.s.Abort(ctx))
	}
	for i, k := range keys {
		if err := w.repo.store.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
			if errors.Is(err, storage.ErrUnreachable) {
				// Each further delete would wait out the same retries.
				errs = append(errs, fmt.Errorf("%d more parts not deleted", len(keys)-i-1))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// WaitPastNewest returns once a snapshot started now gets an id that sorts
// after every snapshot in the repository. Ids hold the start time to the
// second, and "latest" is the greatest id, so a backup that starts in the
// same second as the previous one waits for the next second. Call it under
// the repository lock. A newest id more than a few seconds ahead is another
// host's clock, not worth stalling for.
func (r *Repository) WaitPastNewest(ctx context.Context) error {
	ids, err := r.IDs(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	newest, err := snapshot.IDTime(ids[len(ids)-1])
	if err != nil {
		return nil // not ours to judge here; listing reports bad ids
	}
	wait := time.Until(newest.Add(time.Second))
	if wait <= 0 || wait > 3*time.Second {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
