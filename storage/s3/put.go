package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// Put streams r into the object. S3 makes a new object visible only when a
// single PUT or a CompleteMultipartUpload succeeds, so an aborted Put never
// exposes partial data; on failure the multipart upload is aborted so its
// parts do not linger (and cost money).
//
// The first PartSize bytes are read into memory before anything is sent.
// An object that ends within them, or right after them (the common case for
// metadata), goes up as one PUT, retried as a whole by s.retry because its
// bytes are still at hand. A longer stream cannot be replayed (an io.Reader
// of unknown length is read once), so it becomes a multipart upload in which
// each part is held in memory until S3 has it, and only that part's request
// is retried; see putMultipart.
//
// Memory: a multipart Put holds at most Parallel+1 part buffers, one being
// filled and one per upload in flight, recycled from part to part: with the
// defaults 3 × 8 MiB = 24 MiB. The part size doubles every 900 parts so that
// 10,000 parts reach S3's 5 TiB maximum; objects beyond 7 GiB (with the
// default part size) pay for that in memory, see growEvery.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	src := &source{ctx: ctx, r: r}
	head, complete, err := readHead(src, s.partSize)
	if err == nil {
		if complete {
			err = s.putSmall(ctx, name, head)
		} else {
			err = s.putStream(ctx, name, head, src)
		}
	}
	switch {
	case err == nil:
		return nil
	case src.err != nil && errors.Is(err, src.err) && ctx.Err() == nil:
		// The source failed, not S3: no S3 advice, and keep the cause visible.
		return fmt.Errorf("s3 put %s/%s: reading source: %w", s.name, key, err)
	}
	return s.mapErr(ctx, "put", key, err)
}

// putSmall uploads an object already held in memory (at most one part) with
// a single PUT.
func (s *Store) putSmall(ctx context.Context, name string, data []byte) error {
	return s.retry(ctx, func(ctx context.Context) error {
		_, err := s.meta.PutObject(ctx, s.bucket, name, bytes.NewReader(data), int64(len(data)),
			s.putOptions(name, minio.PutObjectOptions{DisableMultipart: true}))
		return err
	})
}

// putStream uploads first (a full first part) followed by the rest of src.
// It reads one part ahead before starting a multipart upload, so that a
// stream of exactly one part still goes up as a single PUT.
func (s *Store) putStream(ctx context.Context, name string, first []byte, src io.Reader) error {
	second := make([]byte, partSize(s.partSize, 2))
	n, err := fill(ctx, src, second)
	switch {
	case err != nil:
		return err
	case n == 0:
		return s.putSmall(ctx, name, first)
	}
	return s.putMultipart(ctx, name, first, second[:n], src)
}

// readHead reads up to limit bytes. complete reports that the stream ended
// within them. The buffer doubles from 64 KiB so that a small object does not
// cost a whole part's worth of memory, then jumps to limit past 1 MiB so that
// a large one does not leave a trail of garbage buffers.
func readHead(r io.Reader, limit int64) (head []byte, complete bool, err error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) == limit {
				return buf, false, nil
			}
			next := 2 * int64(cap(buf))
			if next > 1<<20 {
				next = limit
			}
			grown := make([]byte, len(buf), min(limit, next))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// source wraps the caller's reader. It stops the upload once ctx is done,
// even if the reader keeps producing data, and it remembers the first error,
// which Put compares with the upload's error to tell a failed source from a
// failed S3 request; later Reads return it again.
type source struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// fill reads from r until buf is full or r ends, and returns how many bytes
// it read; the end of r is not an error. It also stops between reads when
// ctx is done, because the source watches only the caller's context, not the
// workers' failures.
func fill(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
