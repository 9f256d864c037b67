package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/storagetest"
)

// testConfig describes the real S3 server started by scripts/dev-services.sh
// on a fresh, unique prefix.
func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		Endpoint:  testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"),
		AccessKey: testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"),
		SecretKey: testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY"),
		Bucket:    testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"),
		Region:    testenv.Lookup(t, "ZUULSTATE_TEST_S3_REGION"),
		CAFile:    testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"),
		Prefix:    "zuulstate-test/" + randHex(t, 8),
	}
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// open connects with cfg and removes everything under its prefix when the
// test ends. Multipart uploads a failed test left behind are removed too on
// AWS; MinIO lists incomplete uploads only for an exact key, not a prefix, and
// expires them itself after a day.
func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Endpoint, err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		objs := s.meta.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true})
		for res := range s.meta.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
			t.Errorf("cleanup: remove %s: %v", res.ObjectName, res.Err)
		}
		for u := range s.meta.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
			if u.Err == nil {
				s.meta.RemoveIncompleteUpload(ctx, s.bucket, u.Key)
			}
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	testConfig(t) // skip (or fail in CI) before running dozens of subtests
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, testConfig(t)) })
}

func TestPathLookup(t *testing.T) {
	cfg := testConfig(t)
	cfg.Lookup = "path"
	s := open(t, cfg)
	if err := s.Put(t.Context(), "k", strings.NewReader("path style")); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "path style" {
		t.Errorf("Get = %q", b)
	}
}
