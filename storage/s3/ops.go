package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/storage"
)

// Get opens the object with one GET request. minio-go's Client.GetObject is
// lazy and would report a missing key only at the first Read; Core.GetObject
// sends the request now, so not-found surfaces here, and only opening is
// retried. The stream is bound to ctx: cancelling ctx aborts reads.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	var body io.ReadCloser
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		body, _, _, err = minio.Core{Client: s.meta}.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
		return err
	})
	if err != nil {
		return nil, s.mapErr(ctx, "get", key, err)
	}
	return body, nil
}

// GetRange opens length bytes of the object from offset with one ranged
// GET. S3 answers a range past the end with 416 or a shorter body; both
// mean the object is not what the caller's index says.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("s3 get range %q: negative offset or length", key)
	}
	if length == 0 {
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	var body io.ReadCloser
	var size int64
	err = s.retry(ctx, func(ctx context.Context) error {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(offset, offset+length-1); err != nil {
			return err
		}
		b, oi, _, err := minio.Core{Client: s.meta}.GetObject(ctx, s.bucket, name, opts)
		body, size = b, oi.Size
		return err
	})
	if minio.ToErrorResponse(err).Code == "InvalidRange" {
		return nil, fmt.Errorf("s3 get %q bytes %d-%d: %w", key, offset, offset+length, storage.ErrShortObject)
	}
	if err != nil {
		return nil, s.mapErr(ctx, "get", key, err)
	}
	if size != length {
		body.Close()
		return nil, fmt.Errorf("s3 get %q bytes %d-%d: %w (got %d bytes)", key, offset, offset+length, storage.ErrShortObject, size)
	}
	return body, nil
}

// Stat returns the object's size and modification time.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	name, err := s.object(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	var oi minio.ObjectInfo
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		oi, err = s.meta.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return storage.ObjectInfo{}, s.mapErr(ctx, "stat", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Delete removes the object; S3 reports success for a missing key. With
// Object Lock configured it removes every version (see deleteVersions) and
// fails with storage.ErrRetained while a retention forbids that.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if s.lock != nil {
		return s.deleteVersions(ctx, key, name)
	}
	err = s.retry(ctx, func(ctx context.Context) error {
		return s.meta.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
	})
	if err != nil {
		return s.mapErr(ctx, "delete", key, err)
	}
	return nil
}

// fnError marks an error returned by List's callback, which must be passed
// through as is and never retried.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// List pages through ListObjectsV2, which returns keys in lexical (UTF-8
// binary) order. A failed page is retried from just after the last key
// delivered, so fn never sees a key twice.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	after := ""
	err := s.retry(ctx, func(ctx context.Context) error {
		// Stops minio-go's listing goroutine when we return early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		objs := s.meta.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
			Prefix:     s.prefix + prefix,
			Recursive:  true,
			StartAfter: after,
		})
		for oi := range objs {
			if oi.Err != nil {
				return oi.Err
			}
			key := strings.TrimPrefix(oi.Key, s.prefix)
			if err := fn(storage.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
				return fnError{err}
			}
			after = oi.Key
		}
		// minio-go may end the channel quietly on cancellation; a truncated
		// listing must not look complete.
		return ctx.Err()
	})
	var fe fnError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fe.err
	}
	return s.mapErr(ctx, "list", prefix, err)
}
