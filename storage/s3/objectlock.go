package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/storage"
)

var _ storage.Retainer = (*Store)(nil)

// ObjectLock writes objects under some key prefixes with an S3 Object Lock
// retention, so that whoever holds the backup credentials (ransomware on
// the backup host included) cannot delete or overwrite them before it
// expires. Objects under other prefixes (the repository lock, which is
// rewritten and deleted on every run) are written without retention.
type ObjectLock struct {
	// Mode is "GOVERNANCE" (users with s3:BypassGovernanceRetention can
	// still delete) or "COMPLIANCE" (nobody can, not even the root user).
	Mode string
	// Retain is how long after writing an object stays locked.
	Retain time.Duration
	// Prefixes are the keys that get the retention, relative to the
	// store's prefix (for a repository: manifests/ and parts/).
	Prefixes []string
}

func (l *ObjectLock) validate() error {
	switch {
	case l == nil:
		return nil
	case l.Mode != string(minio.Governance) && l.Mode != string(minio.Compliance):
		return fmt.Errorf("s3: object lock mode %q: want GOVERNANCE or COMPLIANCE", l.Mode)
	case l.Retain < time.Second:
		return fmt.Errorf("s3: object lock retention %s is too short", l.Retain)
	case len(l.Prefixes) == 0:
		return errors.New("s3: object lock without prefixes would retain nothing")
	}
	return nil
}

// retained reports whether the object name gets a retention when written.
func (s *Store) retained(name string) bool {
	if s.lock == nil {
		return false
	}
	for _, p := range s.lock.Prefixes {
		if strings.HasPrefix(name, s.prefix+p) {
			return true
		}
	}
	return false
}

// putOptions adds the retention for object name to opts. The retain-until date is
// fixed when the upload starts, so a part written early in a long run is
// released a little before the manifest written at its end: pruning never
// meets a snapshot whose manifest is gone while its parts are still locked.
func (s *Store) putOptions(name string, opts minio.PutObjectOptions) minio.PutObjectOptions {
	if s.retained(name) {
		opts.Mode = minio.RetentionMode(s.lock.Mode)
		opts.RetainUntilDate = time.Now().Add(s.lock.Retain).UTC()
	}
	return opts
}

// checkObjectLock makes sure the bucket can hold locked objects, before a
// backup writes anything. Object Lock can only be enabled when a bucket is
// created, so the advice names that.
func (s *Store) checkObjectLock(ctx context.Context) error {
	var enabled string
	var mode *minio.RetentionMode
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		enabled, mode, _, _, err = s.meta.GetObjectLockConfig(ctx, s.bucket)
		return err
	})
	// A bucket that never had Object Lock answers with this error code.
	if minio.ToErrorResponse(err).Code == "ObjectLockConfigurationNotFoundError" {
		err = nil
	}
	if err != nil {
		return s.mapErr(ctx, "read object lock configuration of", "", err)
	}
	if enabled != "Enabled" {
		return fmt.Errorf("s3: bucket %q does not have Object Lock enabled, but repository.s3.object_lock is configured; "+
			"Object Lock can only be turned on when a bucket is created: create a new bucket with it (mc mb --with-lock, "+
			"aws s3api create-bucket --object-lock-enabled-for-bucket) or remove object_lock from the configuration", s.bucket)
	}
	if mode != nil && *mode != "" {
		return fmt.Errorf("s3: bucket %q has a default retention (%s): it would also lock the repository lock objects, which must stay deletable; "+
			"remove the bucket's default retention (mc retention clear --default) and let zuulstate set retention per object", s.bucket, *mode)
	}
	return nil
}

// RetainedUntil returns when the retention of key's current version ends,
// or the zero time if it has none or it has passed. Without ObjectLock
// configured nothing was written with a retention, and nothing is asked.
func (s *Store) RetainedUntil(ctx context.Context, key string) (time.Time, error) {
	name, err := s.object(key)
	if err != nil || s.lock == nil {
		return time.Time{}, err
	}
	var until *time.Time
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		_, until, err = s.meta.GetObjectRetention(ctx, s.bucket, name, "")
		return err
	})
	var er minio.ErrorResponse
	switch {
	case errors.As(err, &er) && (er.Code == "NoSuchObjectLockConfiguration" || er.Code == "ObjectLockConfigurationNotFoundError" || er.Code == "InvalidRequest"):
		return time.Time{}, nil
	case err != nil:
		err = s.mapErr(ctx, "read retention of", key, err)
		if errors.Is(err, storage.ErrNotFound) {
			return time.Time{}, nil // gone, or hidden behind a delete marker
		}
		return time.Time{}, err
	case until == nil || !until.After(time.Now()):
		return time.Time{}, nil
	}
	return *until, nil
}

// deleteVersions removes every version of name (and its delete markers).
// In a bucket with Object Lock, a plain DELETE only hides an object behind a
// delete marker, which frees no space and which the retention does not
// stop; deleting versions is what the retention forbids, and what a prune
// means. The newest version goes first, so a refused delete leaves the
// object as it was.
func (s *Store) deleteVersions(ctx context.Context, key, name string) error {
	var versions []string
	err := s.retry(ctx, func(ctx context.Context) error {
		versions = versions[:0]
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for oi := range s.meta.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
			if oi.Err != nil {
				return oi.Err
			}
			if oi.Key == name {
				versions = append(versions, oi.VersionID)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return s.mapErr(ctx, "list versions of", key, err)
	}
	for _, v := range versions {
		err := s.retry(ctx, func(ctx context.Context) error {
			return s.meta.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: v})
		})
		// Servers word the refusal differently (AWS: 403 AccessDenied,
		// MinIO: 400 "Object is WORM protected"); the retention decides.
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.StatusCode < 500 {
			if until, rerr := s.versionRetention(ctx, name, v); rerr == nil && until.After(time.Now()) {
				return fmt.Errorf("s3 delete %s/%s: %w until %s (object lock)", s.name, key, storage.ErrRetained, until.UTC().Format(time.RFC3339))
			}
		}
		if err != nil {
			return s.mapErr(ctx, "delete", key, err)
		}
	}
	return nil
}

func (s *Store) versionRetention(ctx context.Context, name, version string) (time.Time, error) {
	_, until, err := s.meta.GetObjectRetention(ctx, s.bucket, name, version)
	if err != nil || until == nil {
		return time.Time{}, err
	}
	return *until, nil
}
