package dirtar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// cancelWriter passes writes through and cancels once limit bytes passed.
type cancelWriter struct {
	n, limit int64
	cancel   context.CancelFunc
}

func (c *cancelWriter) Write(p []byte) (int, error) {
	if c.n += int64(len(p)); c.n >= c.limit {
		c.cancel()
	}
	return len(p), nil
}

// cancelReader does the same for reads.
type cancelReader struct {
	r        io.Reader
	n, limit int64
	cancel   context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n += int64(n); c.n >= c.limit {
		c.cancel()
	}
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

const (
	bigSize     = 256 << 20 // sparse on disk, so the tests stay cheap
	denseSize   = 32 << 20
	cancelAfter = 8 << 20
)

func TestWriteCancelDuringCopy(t *testing.T) {
	src := t.TempDir()
	// Real data: a sparse file would be stored as holes, with no copy to
	// interrupt.
	big := filepath.Join(src, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("data"), denseSize/4), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cw := &cancelWriter{limit: cancelAfter, cancel: cancel}
	_, err := Write(ctx, cw, src, WriteOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if cw.n > cancelAfter+2*ctxCheckBytes {
		t.Errorf("wrote %d bytes; want a prompt stop after cancel at %d", cw.n, cancelAfter)
	}
}

func TestExtractCancelDuringCopy(t *testing.T) {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: bigSize, Mode: 0o644})
		if err == nil {
			_, err = io.CopyN(tw, zeros{}, bigSize)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close() // unblocks the producer once Extract stopped
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cr := &cancelReader{r: pr, limit: cancelAfter, cancel: cancel}
	target := filepath.Join(t.TempDir(), "t")
	_, err := Extract(ctx, cr, target, ExtractOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if cr.n > cancelAfter+2*ctxCheckBytes+copyBufSize {
		t.Errorf("read %d bytes; want a prompt stop after cancel at %d", cr.n, cancelAfter)
	}
}

func TestCanceledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := t.TempDir()
	writeFiles(t, src, "a")
	if _, err := Write(ctx, io.Discard, src, WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Write err = %v", err)
	}
	data := craft(t, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 1})
	target := filepath.Join(t.TempDir(), "t")
	if _, err := Extract(ctx, bytes.NewReader(data), target, ExtractOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Extract err = %v", err)
	}
	if got := dirEntries(t, target); len(got) != 0 {
		t.Errorf("extracted %q after cancel", got)
	}
}
