package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/storage"
)

// lockedBucket creates a bucket with Object Lock enabled (a new one per
// test: the setting exists only at creation) and removes it, bypassing
// governance retention, when the test ends.
func lockedBucket(t *testing.T, locking bool) Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.Bucket = "zuulstate-lock-" + randHex(t, 6)
	cfg.Prefix = "repo"
	admin, err := newStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.meta.MakeBucket(t.Context(), cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region, ObjectLocking: locking}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for oi := range admin.meta.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if oi.Err == nil {
				_ = admin.meta.RemoveObject(ctx, cfg.Bucket, oi.Key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
			}
		}
		if err := admin.meta.RemoveBucket(ctx, cfg.Bucket); err != nil {
			t.Errorf("remove bucket %s: %v", cfg.Bucket, err)
		}
	})
	return cfg
}

func versions(t *testing.T, s *Store, key string) int {
	t.Helper()
	n := 0
	for oi := range s.meta.ListObjects(t.Context(), s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + key, Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		n++
	}
	return n
}

func TestObjectLockNeedsLockedBucket(t *testing.T) {
	cfg := lockedBucket(t, false)
	cfg.ObjectLock = &ObjectLock{Mode: "GOVERNANCE", Retain: time.Hour, Prefixes: []string{"parts/"}}
	_, err := New(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "does not have Object Lock enabled") {
		t.Fatalf("New on a bucket without object lock: %v", err)
	}
	t.Log(err)
}

// TestObjectLockRetention: parts (single PUT and multipart) are written
// with retention, lock objects without; deleting a retained object with
// the backup credentials is refused (and a plain DELETE only hides it
// behind a delete marker, the data stays); after expiry Delete removes
// every version.
func TestObjectLockRetention(t *testing.T) {
	cfg := lockedBucket(t, true)
	const retain = 6 * time.Second
	cfg.ObjectLock = &ObjectLock{Mode: "GOVERNANCE", Retain: retain, Prefixes: []string{"manifests/", "parts/"}}
	cfg.PartSize = minPartSize
	s := open(t, cfg)
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), (2*minPartSize+12345)/16)
	for key, data := range map[string][]byte{"parts/a/small": []byte("small"), "parts/a/big": big, "locks/l.json": []byte("{}")} {
		if err := s.Put(ctx, key, bytes.NewReader(data)); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	written := time.Now()
	for _, key := range []string{"parts/a/small", "parts/a/big"} {
		until, err := s.RetainedUntil(ctx, key)
		if err != nil || until.Before(written.Add(retain-2*time.Second)) {
			t.Fatalf("%s retained until %v (%v), want about %v", key, until, err, written.Add(retain))
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrRetained) {
			t.Fatalf("delete %s under retention: %v, want ErrRetained", key, err)
		}
	}
	if until, err := s.RetainedUntil(ctx, "locks/l.json"); err != nil || !until.IsZero() {
		t.Fatalf("lock object retained until %v (%v)", until, err)
	}
	if err := s.Delete(ctx, "locks/l.json"); err != nil || versions(t, s, "locks/l.json") != 0 {
		t.Fatalf("delete lock object: %v", err)
	}

	// What ransomware with these credentials can do: a DELETE without a
	// version hides the object behind a delete marker, but deleting the
	// version itself is refused, and the data is still there.
	name := s.prefix + "parts/a/small"
	if err := s.meta.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("plain delete: %v", err)
	}
	var version string
	for oi := range s.meta.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: name, WithVersions: true}) {
		if !oi.IsDeleteMarker {
			version = oi.VersionID
		}
	}
	err := s.meta.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{VersionID: version})
	if err == nil {
		t.Fatal("delete of a retained version with the backup credentials succeeded")
	}
	t.Logf("delete of the retained version refused: %v", err)
	obj, err := s.meta.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{VersionID: version})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(obj); err != nil || string(data) != "small" {
		t.Fatalf("retained version: %q %v", data, err)
	}

	time.Sleep(time.Until(written.Add(retain + 1500*time.Millisecond)))
	for _, key := range []string{"parts/a/small", "parts/a/big"} {
		if until, err := s.RetainedUntil(ctx, key); err != nil || !until.IsZero() {
			t.Fatalf("%s after expiry: retained until %v (%v)", key, until, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("delete %s after expiry: %v", key, err)
		}
		if n := versions(t, s, key); n != 0 {
			t.Fatalf("%s: %d versions left after delete", key, n)
		}
	}
}

// TestObjectLockPrune: prune leaves a snapshot whose retention has not
// ended intact and reports until when; after expiry it deletes it.
func TestObjectLockPrune(t *testing.T) {
	cfg := lockedBucket(t, true)
	const retain = 5 * time.Second
	cfg.ObjectLock = &ObjectLock{Mode: "GOVERNANCE", Retain: retain, Prefixes: []string{"manifests/", "parts/"}}
	s := open(t, cfg)
	ctx := t.Context()
	repo := repository.New(s, repository.Options{})
	var ids []string
	for i := range 2 {
		w := repo.NewWriter(repository.SnapshotInfo{Now: func() time.Time { return time.Now().Add(time.Duration(i-2) * time.Minute) }})
		if _, err := w.WritePart(ctx, "paths", "p", func(_ context.Context, out io.Writer) (any, error) {
			_, err := io.WriteString(out, "snapshot data")
			return nil, err
		}); err != nil {
			t.Fatal(err)
		}
		m, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	written := time.Now()
	res, err := repo.Prune(ctx, repository.Policy{Last: 1}, repository.PruneOptions{Grace: time.Hour})
	if err != nil {
		t.Fatalf("prune under retention: %v", err)
	}
	if len(res.Retained) != 1 || res.Retained[0].ID != ids[0] || res.Retained[0].Until.Before(written) || res.DeletedKeys != 0 {
		t.Fatalf("prune under retention: %+v", res)
	}
	t.Logf("prune: snapshot %s retained until %s", res.Retained[0].ID, res.Retained[0].Until)
	m, err := repo.Manifest(ctx, ids[0])
	if err != nil {
		t.Fatalf("retained snapshot damaged: %v", err)
	}
	if _, err := repo.Verify(ctx, m, true); err != nil {
		t.Fatalf("retained snapshot does not verify: %v", err)
	}

	time.Sleep(time.Until(written.Add(retain + 1500*time.Millisecond)))
	res, err = repo.Prune(ctx, repository.Policy{Last: 1}, repository.PruneOptions{Grace: time.Hour})
	if err != nil || len(res.Retained) != 0 || res.DeletedKeys != 2 {
		t.Fatalf("prune after expiry: %+v %v", res, err)
	}
	if got, _ := repo.IDs(ctx); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("snapshots after prune: %v", got)
	}
	if n := versions(t, s, "parts/"+ids[0]); n != 0 {
		t.Fatalf("%d object versions of the pruned snapshot left", n)
	}
}
