package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// S3's multipart limits.
const (
	maxParts    = 10_000
	maxPartSize = 5 << 30
)

// growEvery is how many parts share one part size before it doubles. The sum
// over 10,000 parts must reach S3's 5 TiB object maximum from the smallest
// allowed part size, 5 MiB: doubling every 1,000 parts reaches only 4.9 TiB,
// every 900 parts 9.3 TiB (the last parts capped at 5 GiB).
//
// Memory follows the current part size, so growth costs only large objects.
// With the defaults (8 MiB, Parallel 2, so 3 buffers) a Put holds 24 MiB up
// to 7 GiB, 48 MiB up to 21 GiB, 96 MiB up to 49 GiB, 192 MiB up to 105 GiB,
// 384 MiB up to 218 GiB, and so on, doubling; objects from 3.5 to 5 TiB go
// up in 4 GiB parts (12 GiB). That is the price of not knowing the size in
// advance yet never running out of parts: past the first 900 parts, parts
// are 5.5 to 11 times the size/10,000 that a known size would need.
const growEvery = 900

// partSize returns the size of part n (1-based) of an upload that starts
// with base-sized parts.
func partSize(base int64, n int) int64 {
	return min(base<<((n-1)/growEvery), maxPartSize)
}

// part is one filled buffer on its way to a worker.
type part struct {
	num  int
	data []byte
}

// putMultipart runs the multipart upload: this goroutine fills parts from
// src while s.parallel workers upload them. Buffers circulate through free,
// so the stream costs at most Parallel+1 buffers of the current part size
// and no garbage per part. On any failure the upload is aborted.
func (s *Store) putMultipart(ctx context.Context, name string, first, second []byte, src io.Reader) (err error) {
	core := minio.Core{Client: s.meta}
	var id string
	err = s.retry(ctx, func(ctx context.Context) error {
		// Declaring the algorithm makes the server keep and check the
		// per-part CRC32C checksums that uploadPart sends.
		var err error
		id, err = core.NewMultipartUpload(ctx, s.bucket, name, s.putOptions(name, minio.PutObjectOptions{
			UserMetadata: map[string]string{"X-Amz-Checksum-Algorithm": "CRC32C"},
		}))
		return err
	})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = s.abort(ctx, name, id, err)
		}
	}()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(wctx)
	jobs := make(chan part)
	free := make(chan []byte, s.parallel+1) // never blocks a worker: at most Parallel+1 buffers exist
	var mu sync.Mutex
	var done []minio.CompletePart
	for range s.parallel {
		g.Go(func() error {
			for p := range jobs {
				cp, err := s.uploadPart(gctx, name, id, p)
				if err != nil {
					return err
				}
				mu.Lock()
				done = append(done, cp)
				mu.Unlock()
				free <- p.data
			}
			return nil
		})
	}
	err = s.feed(gctx, jobs, free, first, second, src)
	if err != nil {
		cancel() // parts still in flight would only be aborted
	}
	close(jobs)
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	slices.SortFunc(done, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	return s.retry(ctx, func(ctx context.Context) error {
		_, err := core.CompleteMultipartUpload(ctx, s.bucket, name, id, done, minio.PutObjectOptions{})
		return err
	})
}

// feed hands first and second (parts 1 and 2, already read) to the workers,
// then reads the rest of src into further parts until it ends. It returns
// src's error, or the cause of ctx ending (a worker's error or the caller's
// cancellation).
func (s *Store) feed(ctx context.Context, jobs chan<- part, free chan []byte, first, second []byte, src io.Reader) error {
	send := func(p part) error {
		select {
		case jobs <- p:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if err := send(part{1, first}); err != nil {
		return err
	}
	buffers := 2
	total := int64(len(first))
	next := part{2, second}
	for {
		if err := send(next); err != nil {
			return err
		}
		total += int64(len(next.data))
		if int64(len(next.data)) < partSize(s.partSize, next.num) {
			return nil // a short part is the last
		}
		num := next.num + 1
		if num > maxParts {
			// Fail rather than upload more than S3 will assemble, unless
			// the stream happens to end exactly here.
			if n, err := fill(ctx, src, make([]byte, 1)); err != nil || n == 0 {
				return err
			}
			return fmt.Errorf("object larger than %d bytes, what %d parts growing from part_size %d hold: S3 allows no more parts",
				total, maxParts, s.partSize)
		}
		size := partSize(s.partSize, num)
		var buf []byte
		select {
		case buf = <-free:
		default:
			if buffers == s.parallel+1 {
				select {
				case buf = <-free:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			} else {
				buffers++ // allocated below
			}
		}
		if int64(cap(buf)) < size {
			// A new buffer, or the part size grew: replace the small
			// buffer rather than add one, so the count stays bounded.
			buf = make([]byte, size)
		}
		n, err := fill(ctx, src, buf[:size])
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // the previous part was the last
		}
		next = part{num, buf[:n]}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// uploadPart uploads one part, retrying transient failures: its bytes are in
// memory, so resending is safe. The CRC32C checksum (hardware-accelerated,
// unlike MD5) lets the server reject a part corrupted on the way.
func (s *Store) uploadPart(ctx context.Context, name, id string, p part) (minio.CompletePart, error) {
	crc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(p.data, castagnoli))
	h := http.Header{}
	h.Set("X-Amz-Checksum-Crc32c", base64.StdEncoding.EncodeToString(crc))
	h.Set("X-Amz-Checksum-Algorithm", "CRC32C")
	var op minio.ObjectPart
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		op, err = minio.Core{Client: s.meta}.PutObjectPart(ctx, s.bucket, name, id, p.num,
			bytes.NewReader(p.data), int64(len(p.data)), minio.PutObjectPartOptions{CustomHeader: h})
		return err
	})
	return minio.CompletePart{PartNumber: p.num, ETag: op.ETag, ChecksumCRC32C: op.ChecksumCRC32C}, err
}

// abortTimeout bounds aborting a failed upload, which must not hang a Put
// that is already failing.
const abortTimeout = 30 * time.Second

// abort deletes the upload and its parts after err, so nothing lingers (and
// costs money). It runs on a context of its own because ctx may be cancelled:
// that is often why the upload failed. An upload that no longer exists (err
// may be exactly that) needs no abort.
func (s *Store) abort(ctx context.Context, name, id string, err error) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	aerr := s.retry(actx, func(ctx context.Context) error {
		return minio.Core{Client: s.meta}.AbortMultipartUpload(ctx, s.bucket, name, id)
	})
	var er minio.ErrorResponse
	if aerr != nil && (!errors.As(aerr, &er) || er.Code != minio.NoSuchUpload) {
		return fmt.Errorf("%w (aborting multipart upload %s also failed, its parts remain until a lifecycle rule removes them: %w)", err, id, aerr)
	}
	return err
}
