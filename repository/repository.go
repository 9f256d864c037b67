// Package repository reads and writes snapshots in a storage.Store: it owns
// the write path (parts streamed through the snapshot codec into the store,
// manifest last), listing and loading manifests, the repository lock,
// verification and pruning. It knows nothing about what the parts contain.
package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// ErrSnapshotNotFound is returned when an id (or "latest") names no snapshot.
var ErrSnapshotNotFound = errors.New("snapshot not found")

// ErrInvalidReference is returned for a snapshot reference that is not
// written as Resolve takes them.
var ErrInvalidReference = errors.New("invalid snapshot reference")

// Options configure a Repository.
type Options struct {
	Encode snapshot.EncodeOptions
	// SourceLevels is the zstd level of a source's parts when Encode.Level
	// is 0 (not configured); sources not listed get the codec's default.
	SourceLevels map[string]int
	Identities   []age.Identity // for reading encrypted parts
	// RecipientNames are the public keys, recorded in manifests so an
	// operator knows which identity a part needs.
	RecipientNames []string
	// Dedup writes parts as chunks stored once (format 3); false writes
	// one object per part (format 2). Both are always read.
	Dedup bool
	// StateDir keeps this host's copy of the chunk-id key and the parent
	// caches of tar parts; "" keeps neither.
	StateDir string
	// ForceRead reads every file again instead of reusing unchanged ones.
	ForceRead bool
	// PackSize is the size packs are sealed at; 0 is the default.
	PackSize int
}

// Repository is a snapshot repository in one store.
type Repository struct {
	store storage.Store
	opts  Options

	// The chunk store and its index, opened once for reading chunked
	// parts (restore, verify, diff).
	chunksOnce sync.Once
	chunks     *chunkstore.Store
	chunkIndex *chunkstore.Index
	chunksErr  error
}

// New wraps store.
func New(store storage.Store, opts Options) *Repository {
	return &Repository{store: store, opts: opts}
}

// Store returns the underlying store.
func (r *Repository) Store() storage.Store { return r.store }

// String names the repository's location.
func (r *Repository) String() string { return r.store.String() }

// IDs lists the ids of all snapshots (those with a manifest), oldest first.
func (r *Repository) IDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := r.store.List(ctx, snapshot.ManifestPrefix, func(oi storage.ObjectInfo) error {
		if id, ok := snapshot.IDFromManifestKey(oi.Key); ok {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots in %s: %w", r.store, err)
	}
	sort.Strings(ids)
	return ids, nil
}

// Manifest loads and validates one snapshot's manifest.
func (r *Repository) Manifest(ctx context.Context, id string) (*snapshot.Manifest, error) {
	if !snapshot.ValidID(id) {
		return nil, fmt.Errorf("%w: %q is not a snapshot id (run 'zuulstate snapshots' to list them)", ErrSnapshotNotFound, id)
	}
	rc, err := r.store.Get(ctx, snapshot.ManifestKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: no snapshot %s in %s (run 'zuulstate snapshots' to list them)", ErrSnapshotNotFound, id, r.store)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest of snapshot %s: %w", id, err)
	}
	defer rc.Close()
	// Manifests are small; a huge one is corrupt, not something to buffer.
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read manifest of snapshot %s: %w", id, err)
	}
	return snapshot.DecodeManifest(id, data)
}

// Resolve turns "latest", "latest~N" (the Nth snapshot before the
// latest), a full id or a unique id prefix into an id. Every command names
// snapshots this way.
func (r *Repository) Resolve(ctx context.Context, ref string) (string, error) {
	if snapshot.ValidID(ref) {
		return ref, nil
	}
	back := 0
	if n, ok := strings.CutPrefix(ref, "latest~"); ok {
		var err error
		if back, err = strconv.Atoi(n); err != nil || back < 0 {
			return "", fmt.Errorf("%w %q: use latest~N with N a number (latest~1 is the snapshot before the latest)", ErrInvalidReference, ref)
		}
		ref = "latest"
	}
	ids, err := r.IDs(ctx)
	if err != nil {
		return "", err
	}
	if ref == "latest" {
		if len(ids) == 0 {
			return "", fmt.Errorf("%w: the repository %s holds no snapshots yet", ErrSnapshotNotFound, r.store)
		}
		if back >= len(ids) {
			return "", fmt.Errorf("%w: latest~%d: the repository holds %d snapshots", ErrSnapshotNotFound, back, len(ids))
		}
		return ids[len(ids)-1-back], nil
	}
	var match []string
	for _, id := range ids {
		if ref != "" && strings.HasPrefix(id, ref) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", fmt.Errorf("%w: no snapshot matches %q in %s (run 'zuulstate snapshots' to list them)", ErrSnapshotNotFound, ref, r.store)
	default:
		return "", fmt.Errorf("%q is ambiguous: it matches %d snapshots (%s, …); give more of the id", ref, len(match), match[0])
	}
}

// PartStream is a part's raw bytes. Finish reads what is left and reports
// whether the part was intact.
type PartStream interface {
	io.Reader
	Finish() error
}

// OpenPart opens a part for reading raw bytes. The caller must call Finish on
// the returned stream to learn whether the part was intact, then Close it.
func (r *Repository) OpenPart(ctx context.Context, p snapshot.Part) (PartStream, io.Closer, error) {
	if p.Chunked != nil {
		return r.openChunked(ctx, p)
	}
	return r.openObject(ctx, p)
}

// openObject opens a part stored as one object (format 2, and the chunk
// list of a chunked part).
func (r *Repository) openObject(ctx context.Context, p snapshot.Part) (*snapshot.Decoder, io.Closer, error) {
	rc, err := r.store.Get(ctx, p.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, fmt.Errorf("part %s/%s: %w: object %s is missing", p.Source, p.Name, snapshot.ErrCorrupt, p.Key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open part %s/%s: %w", p.Source, p.Name, err)
	}
	dec, err := snapshot.NewDecoder(rc, p, r.opts.Identities)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return dec, closers{dec, rc}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
