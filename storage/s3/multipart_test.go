package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/storage"
)

// TestManyParts uploads 40 MiB in 5 MiB parts, two at a time: the multipart
// ETag ("<md5>-<parts>") shows the part size was used, the content round-trips
// in order, and the server kept the parts' CRC32C checksums.
func TestManyParts(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize, cfg.Parallel = 5<<20, 2
	s := open(t, cfg)
	const size = 40 << 20
	sent := sha256.New()
	if err := s.Put(t.Context(), "big", io.TeeReader(randStream(1, size), sent)); err != nil {
		t.Fatal(err)
	}
	oi, err := s.meta.StatObject(t.Context(), s.bucket, s.prefix+"big", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if oi.Size != size || !strings.HasSuffix(oi.ETag, "-8") {
		t.Errorf("object size %d etag %q; want %d bytes in 8 parts", oi.Size, oi.ETag, size)
	}
	if oi.ChecksumCRC32C == "" {
		t.Errorf("no CRC32C checksum on the object (mode %q): parts went up without one", oi.ChecksumMode)
	}
	rc, err := s.Get(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	if _, err := io.Copy(got, rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
		t.Error("content read back differs from what was put")
	}
}

// TestAbortedUploadRemoved checks that a multipart Put cancelled or failed by
// its source mid-stream, with parts already uploaded and more in flight,
// returns the right error and is aborted on the server, not just invisible:
// leftover parts cost storage.
func TestAbortedUploadRemoved(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize, cfg.Parallel = 5<<20, 2
	s := open(t, cfg)

	// The check must be able to see a leftover upload at all.
	core := minio.Core{Client: s.meta}
	id, err := core.NewMultipartUpload(t.Context(), s.bucket, s.prefix+"probe", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := uploads(t, s, "probe"); !slices.Equal(got, []string{id}) {
		t.Fatalf("uploads(probe) = %q, want [%s]", got, id)
	}
	core.AbortMultipartUpload(t.Context(), s.bucket, s.prefix+"probe", id)

	boom := errors.New("source failed")
	for key, want := range map[string]error{"cancelled": context.Canceled, "failed": boom} {
		ctx, cancel := context.WithCancel(t.Context())
		src := &failAfter{r: randStream(2, 1<<30), left: 23 << 20, fail: func() error { cancel(); return nil }}
		if errors.Is(want, boom) {
			src.fail = func() error { return boom }
		}
		err := s.Put(ctx, key, src)
		cancel()
		t.Logf("%s: %v", key, err)
		if !errors.Is(err, want) || strings.Contains(err.Error(), "reading source") != errors.Is(want, boom) {
			t.Errorf("Put(%s) = %v, want %v (from the source: %v)", key, err, want, errors.Is(want, boom))
		}
		if got := uploads(t, s, key); len(got) > 0 {
			t.Errorf("incomplete uploads left behind for %s: %q", key, got)
		}
		if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%s) after aborted Put = %v, want ErrNotFound", key, err)
		}
	}
}

// TestPartFailure makes part uploads fail on the server mid-stream, by
// aborting the upload behind Put's back: Put must report the S3 error rather
// than blame the source, stop reading, and leave nothing behind.
func TestPartFailure(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize, cfg.Parallel = 5<<20, 2
	s := open(t, cfg)
	var once sync.Once
	src := &failAfter{r: randStream(3, 1<<30), left: 12 << 20, fail: func() error {
		once.Do(func() {
			for _, id := range uploads(t, s, "lost") {
				minio.Core{Client: s.meta}.AbortMultipartUpload(t.Context(), s.bucket, s.prefix+"lost", id)
			}
		})
		return nil
	}}
	err := s.Put(t.Context(), "lost", src)
	t.Log(err)
	var er minio.ErrorResponse
	if !errors.As(err, &er) || er.Code != minio.NoSuchUpload || strings.Contains(err.Error(), "reading source") ||
		strings.Contains(err.Error(), "also failed") {
		t.Errorf("Put with its upload aborted = %v, want a plain NoSuchUpload S3 error", err)
	}
	if read := 12<<20 - src.left; read > 64<<20 {
		t.Errorf("Put read %d MiB after the upload was gone", read>>20)
	}
	if _, err := s.Stat(t.Context(), "lost"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after failed Put = %v, want ErrNotFound", err)
	}
}

// uploads lists the incomplete multipart uploads for exactly key: MinIO
// matches the prefix of ListMultipartUploads only as a whole key.
func uploads(t *testing.T, s *Store, key string) []string {
	t.Helper()
	res, err := minio.Core{Client: s.meta}.ListMultipartUploads(t.Context(), s.bucket, s.prefix+key, "", "", "", 1000)
	if err != nil {
		t.Fatalf("ListMultipartUploads(%s): %v", key, err)
	}
	var ids []string
	for _, u := range res.Uploads {
		ids = append(ids, u.UploadID)
	}
	return ids
}

// randStream returns n pseudo-random bytes determined by seed, generated as
// read: no period that a part size could line up with.
func randStream(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// failAfter streams r and calls fail on every Read once left bytes have been
// read; a non-nil result is returned as the read error, like a failing
// source.
type failAfter struct {
	r    io.Reader
	left int
	fail func() error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.left <= 0 {
		if err := f.fail(); err != nil {
			return 0, err
		}
	}
	n, err := f.r.Read(p)
	f.left -= n
	return n, err
}
