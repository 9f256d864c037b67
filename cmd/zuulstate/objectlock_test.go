package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// lockedBucketYAML creates a bucket with S3 Object Lock enabled on the test
// MinIO (removed, bypassing governance retention, at the end) and returns
// a repository section for it with object_lock set.
func lockedBucketYAML(t *testing.T, lock string) (string, []string) {
	t.Helper()
	ep := testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT")
	ak, sk := testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"), testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY")
	caFile := testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE")
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mc, err := minio.New(ep, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Secure: true,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}})
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("zuulstate-cli-lock-%d", time.Now().UnixNano())
	if err := mc.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{ObjectLocking: lock != ""}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for oi := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			_ = mc.RemoveObject(ctx, bucket, oi.Key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
		}
		_ = mc.RemoveBucket(ctx, bucket)
	})
	y := fmt.Sprintf("repository:\n  s3:\n    endpoint: %s\n    bucket: %s\n    ca_file: %s\n    lookup: path\n    object_lock: {mode: governance, retain: 1h}\n", ep, bucket, caFile)
	return y, []string{"ZUULSTATE_S3_ACCESS_KEY=" + ak, "ZUULSTATE_S3_SECRET_KEY=" + sk}
}

// TestObjectLockCLI: backups into a bucket with Object Lock are retained;
// prune keeps what it may not delete yet, says until when, and exits 0;
// the retained snapshot stays intact. A bucket without Object Lock is
// refused before anything is written.
func TestObjectLockCLI(t *testing.T) {
	t.Run("bucket without object lock", func(t *testing.T) {
		repoYAML, env := lockedBucketYAML(t, "")
		f := newFixture(t, repoYAML)
		f.env = append(f.env, env...)
		f.run(t, "backup").expectFail(t, exitFailure, "does not have Object Lock enabled", "create a new bucket")
	})
	repoYAML, env := lockedBucketYAML(t, "governance")
	f := newFixture(t, repoYAML)
	f.env = append(f.env, env...)
	f.run(t, "backup", "--quiet").expectOK(t)
	f.run(t, "backup", "--quiet").expectOK(t)
	ids := snapshotIDs(t, f)
	r := f.run(t, "prune", "--keep-last", "1")
	r.expectOK(t)
	t.Logf("prune under retention:\n%s", r.stdout)
	for _, want := range []string{"retain  " + ids[0] + "  (object lock until ", "1 snapshot(s) not deleted yet: retained by object lock"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("prune output lacks %q", want)
		}
	}
	if got := snapshotIDs(t, f); len(got) != 2 {
		t.Fatalf("snapshots after prune under retention: %v", got)
	}
	f.run(t, "verify", "--all", "--deep").expectOK(t)
	f.run(t, "unlock").expectOK(t)
}
