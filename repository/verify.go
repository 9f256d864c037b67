package repository

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// PartCheck is the verification result of one part.
type PartCheck struct {
	Part snapshot.Part
	// Level says how far the check went: "exists" (size matches), "stored"
	// (stored bytes re-hashed; encrypted part and no identity) or "raw"
	// (decrypted, decompressed and re-hashed).
	Level string
	Err   error
}

// VerifyOptions say how far Verify goes.
type VerifyOptions struct {
	// Deep reads every byte back through the codec.
	Deep bool
	// Subset, when set, reads back only the data in the packs and format 2
	// part objects it contains; the rest is checked as without Deep.
	Subset *DataSubset
}

// Verify checks every part of m. Without deep it checks that each part
// exists with the recorded stored size; with deep it reads every byte back
// through the codec. It returns one result per part and an error joining
// the failed parts' errors.
func (r *Repository) Verify(ctx context.Context, m *snapshot.Manifest, deep bool) ([]PartCheck, error) {
	return r.VerifyWith(ctx, m, VerifyOptions{Deep: deep})
}

// VerifyWith is Verify with options.
func (r *Repository) VerifyWith(ctx context.Context, m *snapshot.Manifest, o VerifyOptions) ([]PartCheck, error) {
	var out []PartCheck
	var failed []error
	for _, p := range m.Parts {
		c := PartCheck{Part: p}
		switch {
		case p.Chunked != nil:
			c.Level, c.Err = r.verifyChunked(ctx, p, o)
		case o.Subset != nil && !o.Subset.Contains(p.Key):
			c.Level, c.Err = "exists", r.verifyExists(ctx, p)
		case o.Deep || o.Subset != nil:
			c.Level, c.Err = r.verifyDeep(ctx, p)
		default:
			c.Level, c.Err = "exists", r.verifyExists(ctx, p)
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		if c.Err != nil {
			if !errors.Is(c.Err, snapshot.ErrCorrupt) && !errors.Is(c.Err, snapshot.ErrNoIdentity) {
				return out, c.Err // storage trouble: not a verdict on the snapshot
			}
			failed = append(failed, c.Err)
		}
		out = append(out, c)
	}
	if len(failed) > 0 {
		// Each part error wraps ErrCorrupt or ErrNoIdentity; the CLI maps
		// the joined error by what it wraps.
		return out, fmt.Errorf("snapshot %s: %d of %d parts failed verification: %w", m.ID, len(failed), len(m.Parts), errors.Join(failed...))
	}
	return out, nil
}

func (r *Repository) verifyExists(ctx context.Context, p snapshot.Part) error {
	oi, err := r.store.Stat(ctx, p.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("part %s/%s: %w: object %s is missing", p.Source, p.Name, snapshot.ErrCorrupt, p.Key)
	}
	if err != nil {
		return fmt.Errorf("stat part %s/%s: %w", p.Source, p.Name, err)
	}
	if oi.Size != p.StoredSize {
		return fmt.Errorf("part %s/%s: %w: stored size %d, manifest says %d", p.Source, p.Name, snapshot.ErrCorrupt, oi.Size, p.StoredSize)
	}
	return nil
}

func (r *Repository) verifyDeep(ctx context.Context, p snapshot.Part) (string, error) {
	if p.Encryption != "" && len(r.opts.Identities) == 0 {
		return "stored", r.verifyStored(ctx, p)
	}
	dec, closer, err := r.OpenPart(ctx, p)
	if err != nil {
		return "raw", err
	}
	defer closer.Close()
	_, err = io.Copy(io.Discard, dec)
	if err != nil {
		return "raw", err
	}
	return "raw", dec.Finish()
}

// verifyStored re-hashes the stored bytes, which proves the object is the
// one the backup wrote without needing the private key.
func (r *Repository) verifyStored(ctx context.Context, p snapshot.Part) error {
	rc, err := r.store.Get(ctx, p.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("part %s/%s: %w: object %s is missing", p.Source, p.Name, snapshot.ErrCorrupt, p.Key)
	}
	if err != nil {
		return fmt.Errorf("open part %s/%s: %w", p.Source, p.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("read part %s/%s: %w", p.Source, p.Name, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != p.StoredSize || sum != p.StoredSHA256 {
		return fmt.Errorf("part %s/%s: %w: stored bytes differ from the manifest (size %d, want %d)", p.Source, p.Name, snapshot.ErrCorrupt, n, p.StoredSize)
	}
	return nil
}

// VerifyStored is the check a restore makes before writing anything: the
// sha256 of every part's stored bytes, and for an encrypted part that a
// configured identity opens it. The manifest carries its own checksum, so
// this proves every byte the restore will decode at a third of a deep
// verify's cost; the decoded bytes are checked against raw_sha256 once more
// while they are restored.
func (r *Repository) VerifyStored(ctx context.Context, m *snapshot.Manifest) error {
	var failed []error
	for _, p := range m.Parts {
		var err error
		switch {
		case p.Chunked != nil:
			err = r.checkChunks(ctx, p, chunkstore.CheckOptions{Level: chunkstore.CheckStored, NeedIdentity: p.Encryption != ""})
		default:
			err = r.verifyStored(ctx, p)
			if err == nil && p.Encryption != "" {
				err = r.checkIdentity(ctx, p)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrNoIdentity) {
				return err
			}
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("snapshot %s: %d of %d parts failed verification: %w", m.ID, len(failed), len(m.Parts), errors.Join(failed...))
	}
	return nil
}

// checkIdentity opens an encrypted part's age header with the configured
// identities and reads nothing more.
func (r *Repository) checkIdentity(ctx context.Context, p snapshot.Part) error {
	_, closer, err := r.OpenPart(ctx, p)
	if err != nil {
		return err
	}
	return closer.Close()
}

// verifyChunked checks a chunked part: its chunk list object, then the
// chunks it names. Without deep: the list exists with its size and every
// chunk's pack exists with its size. With deep: every stored byte is
// re-hashed and, with an identity (or for unencrypted chunks), every
// chunk is decoded and checked against its id. With a subset, only the
// chunks in its packs are.
func (r *Repository) verifyChunked(ctx context.Context, p snapshot.Part, o VerifyOptions) (string, error) {
	if !o.Deep && o.Subset == nil {
		if err := r.verifyExists(ctx, p); err != nil {
			return "exists", err
		}
		return "exists", r.checkChunks(ctx, p, chunkstore.CheckOptions{Level: chunkstore.CheckExists})
	}
	co := chunkstore.CheckOptions{Level: chunkstore.CheckDecoded, RawSize: p.RawSize}
	level := "raw"
	if p.Encryption != "" && len(r.opts.Identities) == 0 {
		co.Level, level = chunkstore.CheckStored, "stored"
	}
	if co.Level == chunkstore.CheckDecoded {
		if cs, _, err := r.chunkStore(ctx); err == nil && !cs.CanCheckIDs() {
			// Decoded, but without the chunk-id key the contents are not
			// checked against their ids: say so rather than imply it.
			level = "raw, chunk ids not checked: no chunk-id key on this host and no identity that opens keys/"
		}
	}
	if o.Subset != nil {
		co.Packs, level = o.Subset.Contains, level+", subset "+o.Subset.String()
	}
	return level, r.checkChunks(ctx, p, co)
}

// checkChunks checks the chunk list object's stored bytes, then the chunks
// it names at level o.
func (r *Repository) checkChunks(ctx context.Context, p snapshot.Part, o chunkstore.CheckOptions) error {
	if err := r.verifyStored(ctx, p); err != nil {
		return err
	}
	cs, ix, err := r.chunkStore(ctx)
	if err != nil {
		return fmt.Errorf("part %s/%s: %w", p.Source, p.Name, err)
	}
	list, closer, err := r.openObject(ctx, p.ListPart())
	if err != nil {
		return err
	}
	defer closer.Close()
	o.RawSize, o.Recipients = p.RawSize, p.Recipients
	if _, err := cs.CheckPart(ctx, list, ix, o); err != nil {
		if errors.Is(err, snapshot.ErrNoIdentity) {
			return fmt.Errorf("part %s/%s: %w (recipients %v)", p.Source, p.Name, err, p.Recipients)
		}
		return fmt.Errorf("part %s/%s: %w", p.Source, p.Name, err)
	}
	return list.Finish()
}
