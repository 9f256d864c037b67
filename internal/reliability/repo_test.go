package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	bvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

var containerStart = container.StartOptions{}

// removeStopMarks removes the stop marks of a test's container, in case
// the test ended before a run could restart it.
func removeStopMarks(e *engine.Engine, id string) {
	ctx := context.Background()
	l, err := e.API.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", bvolumes.LabelStoppedBy+"="+id))})
	if err != nil {
		return
	}
	for _, v := range l.Volumes {
		_ = e.API.VolumeRemove(ctx, v.Name, true)
	}
}

// stopMarks counts the stop marks of container id.
func stopMarks(t *testing.T, e *engine.Engine, id string) int {
	t.Helper()
	l, err := e.API.VolumeList(t.Context(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", bvolumes.LabelStoppedBy+"="+id))})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Volumes)
}

// s3Client talks to the dev-services MinIO directly, to see what the
// repository holds below zuulstate's view: every object, incomplete
// multipart uploads.
func s3Client(t *testing.T) *minio.Client {
	t.Helper()
	pem, err := os.ReadFile(testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c, err := minio.New(testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"), &minio.Options{
		Creds:     credentials.NewStaticV4(testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"), testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY"), ""),
		Secure:    true,
		Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// repoKeys lists every key below the repository (a local directory or an
// S3 prefix), temp files of the local store included, and the S3
// multipart uploads never completed.
func repoKeys(t *testing.T, localDir, prefix string) (keys, uploads []string) {
	t.Helper()
	if localDir != "" {
		err := filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(localDir, p)
			keys = append(keys, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys, nil
	}
	c, bucket := s3Client(t), testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET")
	for oi := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		keys = append(keys, strings.TrimPrefix(oi.Key, prefix))
	}
	// MinIO lists uploads by exact key only: list all, filter here.
	for u := range c.ListIncompleteUploads(t.Context(), bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if strings.HasPrefix(u.Key, prefix) {
			uploads = append(uploads, strings.TrimPrefix(u.Key, prefix))
		}
	}
	return keys, uploads
}

// deletePrefix removes a test's repository from the shared MinIO.
func deletePrefix(t *testing.T, prefix string) {
	c, bucket := s3Client(t), os.Getenv("ZUULSTATE_TEST_S3_BUCKET")
	ctx := context.WithoutCancel(t.Context())
	objs := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	for e := range c.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		t.Logf("cleanup %s: %v", e.ObjectName, e.Err)
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err == nil && strings.HasPrefix(u.Key, prefix) {
			_ = c.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
	}
}
