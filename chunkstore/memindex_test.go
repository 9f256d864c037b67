package chunkstore

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
)

// TestIndexMemory measures the heap an index takes per chunk, with and
// without stored sums (docs/FORMAT.md quotes it).
func TestIndexMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	const n = 500_000
	for _, withSums := range []bool{false, true} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ix := newIndex(withSums)
		for i := range n {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(i))
			e := IndexEntry{ID: ID(sha256.Sum256(b[:])), Location: Location{
				Pack: fmt.Sprintf("packs/00/%064d.pack", i/30), PackSize: 16 << 20, Offset: int64(i%30) << 19,
				StoredSize: 1 << 19, RawSize: 1 << 20, Compression: "zstd", Encrypted: true,
			}}
			ix.add(e)
		}
		ix.seal()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perChunk := float64(after.HeapAlloc-before.HeapAlloc) / n
		t.Logf("withSums=%v: %.0f bytes per chunk; 1 TiB at 512 KiB a chunk (2 Mi chunks): %.0f MiB", withSums, perChunk, perChunk*2*1024*1024/(1<<20))
		runtime.KeepAlive(ix)
	}
}
