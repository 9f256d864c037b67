package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// SweepLeftovers aborts the multipart uploads of the store's keys that were
// started before cutoff(key) and never completed or aborted: a process killed
// mid-upload leaves them, invisible to List but stored (and billed) until
// a lifecycle rule or this removes them.
func (s *Store) SweepLeftovers(ctx context.Context, cutoff func(key string) time.Time, dryRun bool) (int, error) {
	n := 0
	core := minio.Core{Client: s.meta}
	// The whole bucket's uploads, filtered here: MinIO takes the prefix of
	// ListMultipartUploads as an exact object name and lists nothing for
	// a real prefix. Unfinished uploads are few, so this stays cheap.
	for u := range s.meta.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if u.Err != nil {
			return n, s.mapErr(ctx, "list unfinished uploads", "", u.Err)
		}
		key, ours := strings.CutPrefix(u.Key, s.prefix)
		if !ours || !u.Initiated.Before(cutoff(key)) {
			continue
		}
		if !dryRun {
			err := s.retry(ctx, func(ctx context.Context) error {
				return core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID)
			})
			var er minio.ErrorResponse
			if err != nil && (!errors.As(err, &er) || er.Code != minio.NoSuchUpload) {
				return n, fmt.Errorf("abort unfinished upload of %s: %w", u.Key, s.mapErr(ctx, "abort upload", u.Key, err))
			}
		}
		n++
	}
	return n, nil
}
