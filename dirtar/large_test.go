package dirtar

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestDenseFileOver8GiB round-trips a file larger than the 8 GiB a ustar
// header can hold, with every block written (no holes), through a pipe:
// the size must travel in a PAX record and the extractor must write past
// the 8 GiB offset. It needs 2 × 8 GiB of disk and about a minute, so it
// runs only in `make torture` (ZUULSTATE_TORTURE=1).
func TestDenseFileOver8GiB(t *testing.T) {
	if os.Getenv("ZUULSTATE_TORTURE") == "" {
		t.Skip("long: set ZUULSTATE_TORTURE=1 (make torture)")
	}
	const size = 8<<30 + 12345
	root := t.TempDir()
	src, dst := filepath.Join(root, "src"), filepath.Join(root, "dst")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	want := writeDense(t, filepath.Join(src, "big"), size)

	pr, pw := io.Pipe()
	ctx := context.Background()
	go func() {
		_, err := Write(ctx, pw, src, WriteOptions{})
		pw.CloseWithError(err)
	}()
	es, err := Extract(ctx, pr, dst, ExtractOptions{Owners: true})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if es.Bytes != size || es.Sparse != 0 {
		t.Errorf("ExtractStats = %+v, want %d bytes and no sparse file", es, int64(size))
	}
	f, err := os.Open(filepath.Join(dst, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if n, err := io.Copy(h, f); err != nil || n != size {
		t.Fatalf("restored file: %d bytes, %v; want %d", n, err, int64(size))
	}
	if got := [32]byte(h.Sum(nil)); got != want {
		t.Fatal("restored file differs from the original")
	}
}

// writeDense writes size bytes of a random 1 MiB block repeated, with no
// zero runs a sparse scan could take for a hole, and returns their sha256.
func writeDense(t *testing.T, path string, size int64) [32]byte {
	t.Helper()
	block := make([]byte, 1<<20)
	rng := rand.NewChaCha8([32]byte{8})
	_, _ = rng.Read(block)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for left := size; left > 0; {
		n := min(left, int64(len(block)))
		if _, err := w.Write(block[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
