package chunkstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/zuulstate/zuulstate/snapshot"
)

// checkTrailer reads a pack's own table from its end (two ranged reads)
// and checks that it records each of entries as the index does: place,
// sizes, stored checksum and encoding. A pack and an index written apart
// (by a bug, or by hand) disagree here even when each matches its name.
func (cs *Store) checkTrailer(ctx context.Context, pack string, size int64, entries []IndexEntry) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("pack %s: %w: %s", pack, snapshot.ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if size < 16 {
		return corrupt("%d bytes: too short for a trailer", size)
	}
	tail, err := readRange(ctx, cs.store, pack, size-16, 16, nil)
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint64(tail[:8])
	if string(tail[8:]) != packMagic || n > uint64(size-16) || n > maxTrailer {
		return corrupt("no pack trailer at its end")
	}
	area := uint64(size-16) - n
	compressed, err := readRange(ctx, cs.store, pack, int64(area), int64(n), nil)
	if err != nil {
		return err
	}
	own, err := decodeTrailer(compressed, area)
	if err != nil {
		return corrupt("%v", err)
	}
	table := make(map[ID]IndexEntry, len(own))
	for _, e := range own {
		table[e.ID] = e
	}
	for _, e := range entries {
		t, ok := table[e.ID]
		if !ok || t.Offset != e.Offset || t.StoredSize != e.StoredSize || t.RawSize != e.RawSize ||
			t.StoredSHA != e.StoredSHA || t.Compression != e.Compression || t.Encrypted != e.Encrypted {
			return corrupt("its own table records chunk %s differently from the index", e.ID)
		}
	}
	return nil
}
