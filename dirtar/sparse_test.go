package dirtar

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// makeSparse creates a file of size bytes holding data at each offset of
// at (4 KiB-aligned, so holes land on block boundaries), holes elsewhere.
func makeSparse(t *testing.T, p string, size int64, at map[int64][]byte) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for off, data := range at {
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// layout is a file's allocation and data map, as SEEK_DATA sees it.
type layout struct {
	size, blocks int64
	ext          []extent
	data         [][]byte
}

func fileLayout(t *testing.T, p string) layout {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	ext, ok, err := dataExtents(int(f.Fd()), st.Size)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		ext = []extent{{0, st.Size}}
	}
	l := layout{size: st.Size, blocks: st.Blocks, ext: ext}
	for _, e := range ext {
		b := make([]byte, e.len)
		if _, err := f.ReadAt(b, e.off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		l.data = append(l.data, b)
	}
	return l
}

func sameLayout(t *testing.T, name string, want, got layout) {
	t.Helper()
	if want.size != got.size || want.blocks != got.blocks || len(want.ext) != len(got.ext) {
		t.Fatalf("%s: size/blocks/extents = %d/%d/%v, want %d/%d/%v", name, got.size, got.blocks, got.ext, want.size, want.blocks, want.ext)
	}
	for i := range want.ext {
		if want.ext[i] != got.ext[i] || !bytes.Equal(want.data[i], got.data[i]) {
			t.Fatalf("%s: extent %d = %v, want %v (or its data differs)", name, i, got.ext[i], want.ext[i])
		}
	}
}

// sparseTree has a 9 GiB file (over the 8 GiB ustar limit) with data at
// the start, in the middle and at the very end, an all-hole file, and
// files with only a leading or only a trailing hole.
func sparseTree(t *testing.T) string {
	src := t.TempDir()
	blk := bytes.Repeat([]byte("s"), 4096)
	makeSparse(t, filepath.Join(src, "huge"), 9<<30, map[int64][]byte{0: blk, 5 << 30: bytes.Repeat(blk, 256), 9<<30 - 4096: blk})
	makeSparse(t, filepath.Join(src, "allhole"), 10<<20, nil)
	makeSparse(t, filepath.Join(src, "lead"), 1<<20+4096, map[int64][]byte{1 << 20: blk})
	makeSparse(t, filepath.Join(src, "trail"), 1<<20, map[int64][]byte{0: blk})
	return src
}

var sparseNames = []string{"huge", "allhole", "lead", "trail"}

func TestSparseRoundTrip(t *testing.T) {
	src := sparseTree(t)
	var buf bytes.Buffer
	ws, err := Write(context.Background(), &buf, src, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ws.Sparse != 4 || ws.Bytes != 9<<30+10<<20+1<<20+4096+1<<20 {
		t.Errorf("WriteStats = %+v", ws)
	}
	if buf.Len() > 2<<20 {
		t.Errorf("archive is %d bytes: holes were stored as data", buf.Len())
	}
	dst := filepath.Join(t.TempDir(), "dst")
	es, err := Extract(context.Background(), &buf, dst, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if es.Sparse != 4 || es.Bytes != ws.Bytes || es.Files != 4 {
		t.Errorf("ExtractStats = %+v", es)
	}
	for _, n := range sparseNames {
		sameLayout(t, n, fileLayout(t, filepath.Join(src, n)), fileLayout(t, filepath.Join(dst, n)))
	}
}

// TestSparseMergesHolesPastLimit: a map longer than maxExtents is made to
// fit by storing the smallest holes as zeros; contents stay exact.
func TestSparseMergesHolesPastLimit(t *testing.T) {
	defer func(n int) { maxExtents = n }(maxExtents)
	maxExtents = 8
	src := t.TempDir()
	// 20 data blocks; every fourth hole is 1 MiB, the others 4 KiB, so
	// merging the small ones leaves 5 extents.
	at := map[int64][]byte{}
	off := int64(4096)
	for i := range int64(20) {
		at[off] = bytes.Repeat([]byte{byte('a' + i)}, 4096)
		off += 4096 + 4096
		if i%4 == 3 {
			off += 1 << 20
		}
	}
	makeSparse(t, filepath.Join(src, "f"), off+4096, at)
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if _, err := Extract(context.Background(), &buf, dst, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	want, got := fileSum(t, filepath.Join(src, "f")), fileSum(t, filepath.Join(dst, "f"))
	if want != got {
		t.Fatal("content differs after merging holes")
	}
	if l := fileLayout(t, filepath.Join(dst, "f")); len(l.ext) != 5 {
		t.Errorf("restored file has %d extents %v, want 5", len(l.ext), l.ext)
	}
}

// GNU tar must restore our sparse entries sparse, and its own (PAX 1.0,
// map hidden from archive/tar) must come back sparse through Extract.
func TestSparseGNUTarInterop(t *testing.T) {
	bin := gnuTar(t)
	src := sparseTree(t)
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	cmd := exec.Command(bin, "-xpf", "-", "-C", dst)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	for _, n := range sparseNames {
		sameLayout(t, "GNU tar extract of "+n, fileLayout(t, filepath.Join(src, n)), fileLayout(t, filepath.Join(dst, n)))
	}

	var out bytes.Buffer
	cmd = exec.Command(bin, "--format=posix", "-S", "-cf", "-", "-C", src, ".")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar -c: %v", err)
	}
	dst2 := filepath.Join(t.TempDir(), "dst")
	if _, err := Extract(context.Background(), &out, dst2, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range sparseNames {
		sameLayout(t, "extract of GNU tar's "+n, fileLayout(t, filepath.Join(src, n)), fileLayout(t, filepath.Join(dst2, n)))
	}
}
