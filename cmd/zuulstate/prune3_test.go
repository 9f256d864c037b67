package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// pruneFixtures are a local and a MinIO repository with small packs.
func pruneFixtures(t *testing.T) map[string]func(t *testing.T) *fixture {
	return map[string]func(t *testing.T) *fixture{
		"local": func(t *testing.T) *fixture {
			f := newFixture(t, "")
			f.writeConfig(t, "repository:\n  pack_size: 512KiB\n  local:\n    path: "+f.repo+"\nsources:\n  paths:\n    - name: data\n      path: "+f.data+"\n")
			return f
		},
		"s3": func(t *testing.T) *fixture {
			repoYAML, env := s3YAML(t)
			f := newFixture(t, strings.Replace(repoYAML, "repository:\n", "repository:\n  pack_size: 512KiB\n", 1))
			f.env = append(f.env, env...)
			t.Cleanup(func() { removeS3Prefix(t, s3Prefix(repoYAML)) })
			return f
		},
	}
}

// night changes the fixture's data as a night of builds does: new log
// files, the oldest removed, one file rewritten; it returns a copy of the
// data as it is now, to compare restores with.
func night(t *testing.T, f *fixture, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	for i := range 4 {
		b := make([]byte, 200<<10+rng.IntN(300<<10))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(f.data, fmt.Sprintf("build-%02d-%d.log", n, i)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := filepath.Glob(filepath.Join(f.data, fmt.Sprintf("build-%02d-*", n-2)))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	copyDir := filepath.Join(f.dir, fmt.Sprintf("night-%02d", n))
	if out, err := exec.Command("cp", "-a", f.data, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return copyDir
}

// TestPruneDeduplicated: six nights of changing data, then prune keeping
// two. A dry run changes nothing; prune deletes packs and rewrites mixed
// ones, says what it freed, and the repository shrinks by about that;
// the kept snapshots pass verify --deep and restore byte-identical; a
// second prune finds nothing to do.
func TestPruneDeduplicated(t *testing.T) {
	for name, mk := range pruneFixtures(t) {
		t.Run(name, func(t *testing.T) {
			f := mk(t)
			nightOf := map[string]string{}
			for n := range 6 {
				data := night(t, f, n)
				r := f.run(t, "backup")
				r.expectOK(t)
				nightOf[strings.TrimSpace(r.stdout)] = data
			}
			before := repoSize(t, f)
			dry := f.run(t, "prune", "--keep-last", "2", "--repack-threshold", "80", "--dry-run")
			dry.expectOK(t)
			if repoSize(t, f) != before || len(snapshotIDs(t, f)) != 6 {
				t.Fatal("the dry run changed the repository")
			}
			r := f.run(t, "prune", "--keep-last", "2", "--repack-threshold", "80")
			r.expectOK(t)
			after := repoSize(t, f)
			t.Logf("dry run:\n%s\nprune:\n%s\nrepository: %d → %d bytes", dry.stdout, r.stdout, before, after)
			freed := reportedFreed(t, r.stdout)
			if before-after < before/3 || freed <= 0 || absDiff(before-after, freed) > before/20 {
				t.Errorf("repository %d → %d bytes, prune reported %d freed", before, after, freed)
			}
			for _, want := range []string{"would delete ", "would free about "} {
				if !strings.Contains(dry.stdout, want) {
					t.Errorf("dry run output lacks %q", want)
				}
			}
			if planned, did := strings.ReplaceAll(outputLine(dry.stdout, "packs "), "would ", ""), outputLine(r.stdout, "packs "); planned != did {
				t.Errorf("the dry run planned %q, prune did %q", planned, did)
			}
			if !regexp.MustCompile(`(?m)^packs   \d+ before: delete [1-9]\d* with no live chunk, rewrite \d+ mostly dead`).MatchString(r.stdout) ||
				!strings.Contains(r.stdout, "index   ") {
				t.Errorf("prune output lacks the pack and index lines")
			}
			ids := snapshotIDs(t, f)
			if len(ids) != 2 {
				t.Fatalf("snapshots after prune: %v", ids)
			}
			f.run(t, "verify", "--all", "--deep").expectOK(t)
			for _, id := range ids {
				target := filepath.Join(f.dir, "restore-"+id)
				f.run(t, "restore", id, "--paths-dir", target).expectOK(t)
				sameTree(t, nightOf[id], filepath.Join(target, "data"))
			}
			again := f.run(t, "prune", "--keep-last", "2", "--repack-threshold", "80")
			again.expectOK(t)
			if !strings.Contains(again.stdout, "freed   0 B: 0 objects deleted") {
				t.Errorf("a second prune still changed something:\n%s", again.stdout)
			}
			f.run(t, "prune", "--keep-last", "2", "--repack-threshold", "101").expectFail(t, exitUsage, "--repack-threshold")
		})
	}
}

func outputLine(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func reportedFreed(t *testing.T, out string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^freed +.*: \d+ objects deleted \(([0-9.]+) (B|KiB|MiB)\), \d+ written \(([0-9.]+) (B|KiB|MiB)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no freed line in:\n%s", out)
	}
	size := func(v, unit string) int64 {
		var f float64
		fmt.Sscan(v, &f)
		return int64(f * map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[unit])
	}
	return size(m[1], m[2]) - size(m[3], m[4])
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// repoSize adds up the sizes of the fixture repository's objects.
func repoSize(t *testing.T, f *fixture) int64 {
	t.Helper()
	var n int64
	data, _ := os.ReadFile(f.config)
	if prefix := s3Prefix(string(data)); prefix != "" {
		mc, bucket := s3Client(t)
		for oi := range mc.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			n += oi.Size
		}
		return n
	}
	err := filepath.WalkDir(f.repo, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func s3Prefix(yaml string) string {
	if m := regexp.MustCompile(`(?m)^    prefix: (\S+)$`).FindStringSubmatch(yaml); m != nil {
		return m[1]
	}
	return ""
}

// s3Client talks to the test MinIO directly, below zuulstate's view.
func s3Client(t *testing.T) (*minio.Client, string) {
	t.Helper()
	pem, err := os.ReadFile(testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mc, err := minio.New(testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"), &minio.Options{
		Creds:     credentials.NewStaticV4(testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"), testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY"), ""),
		Secure:    true,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mc, testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET")
}

// removeS3Prefix deletes a test's objects from the shared MinIO.
func removeS3Prefix(t *testing.T, prefix string) {
	if prefix == "" {
		return
	}
	mc, bucket := s3Client(t)
	ctx := context.WithoutCancel(t.Context())
	for e := range mc.RemoveObjects(ctx, bucket, mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}), minio.RemoveObjectsOptions{}) {
		t.Logf("cleanup %s: %v", e.ObjectName, e.Err)
	}
}

// snapshotHosts maps each snapshot id to the host that wrote it.
func snapshotHosts(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	r := f.run(t, "snapshots", "--json")
	r.expectOK(t)
	var rows []snapshotRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, row := range rows {
		out[row.ID] = row.Host
	}
	return out
}
