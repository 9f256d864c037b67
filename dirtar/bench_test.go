package dirtar

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWrite archives a generated tree of 2 000 files (40 dirs of 50
// files, 1 KiB to 64 KiB) to io.Discard: mostly per-entry overhead, which
// dominates real CI state trees, plus some bulk copy.
func BenchmarkWrite(b *testing.B) {
	src := b.TempDir()
	var total int64
	for d := range 40 {
		dir := filepath.Join(src, fmt.Sprintf("dir%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 50 {
			size := 1 << (10 + (d+f)%7) // 1 KiB .. 64 KiB
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * (f + 1))
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d", f)), data, 0o644); err != nil {
				b.Fatal(err)
			}
			total += int64(size)
		}
	}
	ctx := context.Background()
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(ctx, io.Discard, src, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
