package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// CheckLevel says how far CheckPart goes.
type CheckLevel int

const (
	// CheckExists: every chunk is in the index and its pack exists with
	// the size the index records.
	CheckExists CheckLevel = iota
	// CheckStored: also re-hash every chunk's stored bytes (no identity
	// needed), and open the age header of one encrypted chunk with the
	// configured identities when there are any.
	CheckStored
	// CheckDecoded: also decrypt and decompress every chunk and check its
	// content against its id (needs an identity for encrypted chunks).
	CheckDecoded
)

// CheckOptions tune CheckPart.
type CheckOptions struct {
	Level CheckLevel
	// Packs, if set, limits the stored and decoded checks to chunks in
	// packs it accepts (verify --read-data-subset).
	Packs func(pack string) bool
	// RawSize is the part's size from the manifest: the chunk list's
	// slices must add up to it at every level, so a list rewritten with
	// other chunks is refused before any chunk is read.
	RawSize int64
	// NeedIdentity makes CheckStored open one encrypted chunk's header,
	// so a restore without the right identity is refused up front.
	NeedIdentity bool
	// Recipients are those the part records: its chunks' ids are keyed
	// for them.
	Recipients []string
}

// CheckResult counts what was checked.
type CheckResult struct {
	Chunks, Packs  int
	StoredBytes    int64
	DecodedChunks  int
	IDsChecked     bool // chunk contents were checked against their ids
	identityOpened bool
}

// CheckPart checks the chunks a part's chunk list names. Every problem with
// the repository's content wraps snapshot.ErrCorrupt (or ErrNoIdentity);
// other errors are trouble reaching the store.
func (cs *Store) CheckPart(ctx context.Context, list io.Reader, ix *Index, o CheckOptions) (CheckResult, error) {
	var res CheckResult
	var total int64
	seen := map[ID]bool{}
	err := ReadChunkList(list, func(r Ref) error {
		loc, ok := ix.Lookup(r.ID)
		if !ok {
			return fmt.Errorf("chunk %s: %w: no index names it (a pack or index object is missing)", r.ID, snapshot.ErrCorrupt)
		}
		if uint64(r.Offset)+uint64(r.Length) > uint64(loc.RawSize) {
			return fmt.Errorf("chunk %s: %w: the chunk list reads past its end", r.ID, snapshot.ErrCorrupt)
		}
		total += int64(r.Length)
		seen[r.ID] = true
		return nil
	})
	if err != nil {
		return res, err
	}
	if total != o.RawSize {
		return res, fmt.Errorf("%w: the chunk list adds up to %d bytes, the manifest says %d", snapshot.ErrCorrupt, total, o.RawSize)
	}
	byPack := map[string][]IndexEntry{}
	for id := range seen {
		loc, _ := ix.Lookup(id)
		byPack[loc.Pack] = append(byPack[loc.Pack], IndexEntry{ID: id, Location: loc})
	}
	res.Chunks, res.Packs = len(seen), len(byPack)
	packs := make([]string, 0, len(byPack))
	for p := range byPack {
		packs = append(packs, p)
	}
	sort.Strings(packs)
	for _, p := range packs {
		entries := byPack[p]
		if err := cs.checkPackSize(ctx, p, entries[0].PackSize); err != nil {
			return res, err
		}
		if o.Level == CheckExists || o.Packs != nil && !o.Packs(p) {
			continue
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Offset < entries[j].Offset })
		if err := cs.checkTrailer(ctx, p, entries[0].PackSize, entries); err != nil {
			return res, err
		}
		if err := cs.checkChunks(ctx, entries, o, &res); err != nil {
			return res, err
		}
	}
	res.IDsChecked = o.Level == CheckDecoded && cs.key != nil
	return res, nil
}

func (cs *Store) checkPackSize(ctx context.Context, pack string, want int64) error {
	oi, err := cs.store.Stat(ctx, pack)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("pack %s: %w: it is missing", pack, snapshot.ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("stat pack %s: %w", pack, err)
	}
	if oi.Size != want {
		return fmt.Errorf("pack %s: %w: %d bytes, the index says %d", pack, snapshot.ErrCorrupt, oi.Size, want)
	}
	return nil
}

// checkChunks reads the chunks of one pack in ranges of up to fetchStored
// bytes and checks each one.
func (cs *Store) checkChunks(ctx context.Context, entries []IndexEntry, o CheckOptions, res *CheckResult) error {
	for start := 0; start < len(entries); {
		end := start + 1
		for end < len(entries) && entries[end].Offset == entries[end-1].Offset+int64(entries[end-1].StoredSize) &&
			entries[end].Offset+int64(entries[end].StoredSize)-entries[start].Offset <= fetchStored {
			end++
		}
		first, last := entries[start], entries[end-1]
		r := &PartReader{ctx: ctx, cs: cs}
		buf := rangeBufs.get()
		data, err := r.readRange(first.Pack, first.Offset, last.Offset+int64(last.StoredSize)-first.Offset, buf)
		if err != nil {
			rangeBufs.put(buf)
			return err
		}
		for _, e := range entries[start:end] {
			stored := data[e.Offset-first.Offset : e.Offset-first.Offset+int64(e.StoredSize)]
			if err := cs.checkChunk(stored, e, o, res); err != nil {
				rangeBufs.put(buf)
				return err
			}
		}
		rangeBufs.put(buf)
		start = end
	}
	return nil
}

func (cs *Store) checkChunk(stored []byte, e IndexEntry, o CheckOptions, res *CheckResult) error {
	res.StoredBytes += int64(len(stored))
	if o.Level == CheckDecoded {
		if _, err := openChunk(nil, stored, e.ID, e.Location, cs.opts.Identities, cs.idsFor(o.Recipients), true); err != nil {
			return err
		}
		res.DecodedChunks++
		return nil
	}
	if sha256.Sum256(stored) != e.StoredSHA {
		return fmt.Errorf("chunk %s in %s: %w: stored bytes differ from the index", e.ID, e.Pack, snapshot.ErrCorrupt)
	}
	if o.NeedIdentity && e.Encrypted && !res.identityOpened {
		if len(cs.opts.Identities) == 0 {
			return fmt.Errorf("chunk %s is encrypted: %w: configure encryption.identity_file (or ZUULSTATE_AGE_IDENTITY_FILE)", e.ID, snapshot.ErrNoIdentity)
		}
		if _, err := age.Decrypt(bytes.NewReader(stored), cs.opts.Identities...); err != nil {
			var noMatch *age.NoIdentityMatchError
			if errors.As(err, &noMatch) {
				return fmt.Errorf("chunk %s: %w: the configured identity is not one of the recipients it was encrypted to", e.ID, snapshot.ErrNoIdentity)
			}
			return fmt.Errorf("chunk %s: %w: age header: %w", e.ID, snapshot.ErrCorrupt, err)
		}
		res.identityOpened = true
	}
	return nil
}
