package snapshot

import (
	"bytes"
	"testing"
	"time"
)

// TestSharedBudgetManyParts writes more parts at once than the process has
// chunk tokens, from one goroutine taking turns (as a source that writes
// two parts from one walk does): it must finish, and every part must
// decode to what was written.
func TestSharedBudgetManyParts(t *testing.T) {
	n := 3 * cap(chunkTokens)
	raw := testData(3*chunkSize + 12345)
	stored := make([]bytes.Buffer, n)
	encs := make([]*Encoder, n)
	for i := range encs {
		e, err := NewEncoder(&stored[i], EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		encs[i] = e
	}
	done := make(chan error, 1)
	go func() {
		for off := 0; off < len(raw); off += 1 << 20 {
			end := min(off+1<<20, len(raw))
			for _, e := range encs {
				if _, err := e.Write(raw[off:end]); err != nil {
					done <- err
					return
				}
			}
		}
		for _, e := range encs {
			if err := e.Close(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("encoders sharing the chunk budget deadlocked")
	}
	for i, e := range encs {
		s := e.Sums()
		p := Part{Source: "paths", Name: "x", RawSize: s.RawSize, RawSHA256: s.RawSHA256,
			StoredSize: s.StoredSize, StoredSHA256: s.StoredSHA256, Compression: "zstd"}
		out, err := decodeAll(stored[i].Bytes(), p, nil)
		if err != nil || !bytes.Equal(out, raw) {
			t.Fatalf("part %d: decoded %d bytes, err %v", i, len(out), err)
		}
	}
	if len(chunkTokens) != 0 {
		t.Errorf("%d chunk tokens still taken after every encoder closed", len(chunkTokens))
	}
}
