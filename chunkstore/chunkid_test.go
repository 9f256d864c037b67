package chunkstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/zeebo/blake3"
)

// TestChunkIDSchemes: a new repository names chunks by keyed BLAKE3, one
// created with HMAC-SHA256 ids keeps them, and in both every id is the
// scheme's keyed hash of the chunk's bytes, whichever pooled hasher
// computed it: the chunks of a second backup of the same data are all
// found, and the decoding check accepts them.
func TestChunkIDSchemes(t *testing.T) {
	for scheme, keyed := range map[string]func(key, raw []byte) ID{
		chunkIDBLAKE3: func(key, raw []byte) (id ID) {
			h, err := blake3.NewKeyed(key)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(raw)
			h.Sum(id[:0])
			return id
		},
		chunkIDHMAC: func(key, raw []byte) (id ID) {
			m := hmac.New(sha256.New, key)
			m.Write(raw)
			m.Sum(id[:0])
			return id
		},
	} {
		t.Run(scheme, func(t *testing.T) {
			newRepositoryChunkID = scheme
			defer func() { newRepositoryChunkID = chunkIDBLAKE3 }()
			f := newFixture(t, false)
			data := randomish(7, 6<<20)
			produce := func(w io.Writer) error { _, err := w.Write(data); return err }
			lists, stats := f.backup("s1", map[string]func(io.Writer) error{"db": produce}, PartOptions{})
			if stats["db"].NewChunks < 3 {
				t.Fatalf("%d chunks: too few for the pooled hashers to be reused", stats["db"].NewChunks)
			}
			ctx := context.Background()
			cs, err := Open(ctx, f.store, f.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := cs.Config().ChunkID; got != scheme {
				t.Fatalf("repo.json chunk_id %q, want %q", got, scheme)
			}
			key, err := hex.DecodeString(cs.Config().Key)
			if err != nil {
				t.Fatal(err)
			}
			rest := data
			if err := ReadChunkList(bytes.NewReader(lists["db"]), func(r Ref) error {
				if want := keyed(key, rest[:r.Length]); r.ID != want {
					t.Errorf("chunk id %s, want %s", r.ID, want)
				}
				rest = rest[r.Length:]
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ix, err := LoadIndex(ctx, f.store, true)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cs.CheckPart(ctx, bytes.NewReader(lists["db"]), ix, CheckOptions{Level: CheckDecoded, RawSize: int64(len(data))})
			if err != nil || !res.IDsChecked {
				t.Fatalf("decoding check: %+v, %v", res, err)
			}
			if _, stats := f.backup("s2", map[string]func(io.Writer) error{"db": produce}, PartOptions{}); stats["db"].NewChunks != 0 {
				t.Errorf("a second backup of the same data stored %d chunks", stats["db"].NewChunks)
			}
		})
	}
}
