package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// errBoom is what failingReader returns; Put must pass it through (%w) so
// callers can tell a broken source from a broken backend.
var errBoom = errors.New("storagetest: source failed")

// stream returns n pseudo-random bytes determined by seed. Objects are
// generated, never held in memory, so a 100 MiB case costs 100 MiB of CPU
// time, not of RAM.
func stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// hashingReader hashes and counts what the store actually consumed.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashingReader(r io.Reader) *hashingReader {
	return &hashingReader{r: r, h: sha256.New()}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// cancelReader cancels its context once `after` bytes have been delivered
// and then keeps streaming, like a source that does not know about ctx.
type cancelReader struct {
	r      io.Reader
	after  int64
	n      int64
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.once.Do(c.cancel)
	}
	return n, err
}

// failingReader returns errBoom after `after` bytes.
type failingReader struct {
	r     io.Reader
	after int64
	n     int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errBoom
	}
	if rest := f.after - f.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	return n, err
}

// put stores the generated object and returns the hash of what was read.
func put(t *testing.T, s storage.Store, key string, seed uint64, size int64) string {
	t.Helper()
	hr := newHashingReader(stream(seed, size))
	if err := s.Put(t.Context(), key, hr); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, size, err)
	}
	if hr.n != size {
		t.Fatalf("Put(%q) consumed %d of %d bytes", key, hr.n, size)
	}
	return hr.sum()
}

// getHash streams the object through sha256 and returns the hash and size.
func getHash(t *testing.T, s storage.Store, key string) (string, int64) {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("Get(%q): reading after %d bytes: %v", key, n, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// putBytes and getBytes handle small literal contents.
func putBytes(t *testing.T, s storage.Store, key, content string) {
	t.Helper()
	if err := s.Put(t.Context(), key, stringsReader(content)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func getBytes(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return string(b)
}

// stringsReader has no Seek or WriterTo, unlike strings.Reader, so the store
// sees a plain stream as it will in production.
func stringsReader(s string) io.Reader { return &onlyReader{s: s} }

type onlyReader struct{ s string }

func (o *onlyReader) Read(p []byte) (int, error) {
	if o.s == "" {
		return 0, io.EOF
	}
	n := copy(p, o.s)
	o.s = o.s[n:]
	return n, nil
}
