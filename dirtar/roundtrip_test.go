package dirtar

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t testing.TB) {
	if unix.Geteuid() != 0 {
		t.Skip("needs root (chown to foreign ids, mknod)")
	}
}

func TestRoundTrip(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	if err := unix.Mkdir(src, 0o750); err != nil {
		t.Fatal(err)
	}
	fx := buildTree(t, src)
	want := scanTree(t, src)

	var buf bytes.Buffer
	ws, err := Write(ctx, &buf, src, WriteOptions{})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "dst") // missing: Extract creates it
	es, err := Extract(ctx, bytes.NewReader(buf.Bytes()), dst, ExtractOptions{Owners: true})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	got := scanTree(t, dst)
	compareTrees(t, want, got)

	const contentBytes = 4_800_000 + 51 + 3<<20 // big.bin, the small files, sparse
	wantWS := WriteStats{Files: 15, Dirs: 9, Symlinks: 5, Hardlinks: 2, Other: 2, Bytes: contentBytes, Skipped: 1, Sparse: 1}
	wantES := ExtractStats{Files: 15, Dirs: 9, Symlinks: 5, Hardlinks: 2, Other: 2, Bytes: contentBytes, Sparse: 1}
	if ws != wantWS {
		t.Errorf("WriteStats = %+v, want %+v", ws, wantWS)
	}
	if es != wantES {
		t.Errorf("ExtractStats = %+v, want %+v", es, wantES)
	}

	// Each optional xattr kind must really have made the trip; skip only
	// the kinds the filesystem refused with ENOTSUP.
	for kind, err := range fx.xattrs {
		t.Run("xattr/"+kind, func(t *testing.T) {
			if errors.Is(err, unix.ENOTSUP) {
				t.Skipf("filesystem does not support %s xattrs", kind)
			}
		})
	}
	for rel, attrs := range fx.wantXattr {
		for name, val := range attrs {
			if got[rel].xattrs[name] != val {
				t.Errorf("%q: xattr %s = %q, want %q", rel, name, got[rel].xattrs[name], val)
			}
		}
	}
}

// TestDeterministic: the same tree must give the same bytes, so archives
// dedupe and diff well.
func TestDeterministic(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	buildTree(t, src)
	var a, b bytes.Buffer
	if _, err := Write(context.Background(), &a, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), &b, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of the same tree differ")
	}
}

func TestExclude(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, "keep.txt", "skip.log", "sub/skip.log", "cache/x", "sub/cache/y", "sub/keep")
	var buf bytes.Buffer
	_, err := Write(context.Background(), &buf, src, WriteOptions{Exclude: []string{"*.log", "sub/cache"}})
	if err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, buf.Bytes())
	want := []string{"./", "cache/", "cache/x", "keep.txt", "sub/", "sub/keep"}
	if !equalStrings(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
	if _, err := Write(context.Background(), io.Discard, src, WriteOptions{Exclude: []string{"["}}); err == nil {
		t.Error("malformed exclude pattern accepted")
	}
}
