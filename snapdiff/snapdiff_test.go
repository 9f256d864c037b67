package snapdiff

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

type file struct {
	name, content string
	mode          int64
}

func tarOf(t *testing.T, files []file) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg, Size: int64(len(f.content))}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func treeOf(t *testing.T, nodes map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	e, err := zktree.NewEncoder(&b, zktree.Header{Format: 1, Roots: []string{"/"}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p := range nodes {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, func(a, b string) int { // the order the backup writes
		if zktree.DFSLess(a, b) {
			return -1
		}
		return 1
	})
	for _, p := range paths {
		if _, err := e.Node(&zktree.Record{Path: p, Data: []byte(nodes[p]), ACL: zk.WorldACL(zk.PermAll)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(zktree.Trailer{Nodes: int64(len(paths))}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func part(source, name string, raw []byte) snapshot.Part {
	sum := sha256.Sum256(raw)
	return snapshot.Part{Source: source, Name: name, Key: source + "/" + name + "/" + hex.EncodeToString(sum[:4]),
		RawSize: int64(len(raw)), RawSHA256: hex.EncodeToString(sum[:])}
}

// diff runs Diff over in-memory parts.
func diff(t *testing.T, a, b map[string][]byte) (*Report, []string) {
	t.Helper()
	raw := map[string][]byte{}
	manifest := func(id string, parts map[string][]byte) *snapshot.Manifest {
		m := &snapshot.Manifest{ID: id}
		for _, k := range []string{"paths/etc", "zookeeper/tree", "paths/gone", "paths/new"} {
			if data, ok := parts[k]; ok {
				source, name, _ := strings.Cut(k, "/")
				p := part(source, name, data)
				raw[p.Key] = data
				m.Parts = append(m.Parts, p)
			}
		}
		return m
	}
	ma, mb := manifest("A", a), manifest("B", b)
	var changes []string
	rep, err := Diff(t.Context(), ma, mb, Options{
		Open: func(_ context.Context, p snapshot.Part) (io.Reader, func() error, error) {
			return bytes.NewReader(raw[p.Key]), func() error { return nil }, nil
		},
		OnChange: func(c Change) { changes = append(changes, FormatChange(c)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep, changes
}

func TestDiffTarsAndTrees(t *testing.T) {
	tarA := tarOf(t, []file{{"./", "", 0o755}, {"a/", "", 0o755}, {"a/x", "1", 0o644}, {"a-b", "2", 0o644}, {"z", "3", 0o644}})
	tarB := tarOf(t, []file{{"./", "", 0o755}, {"a/", "", 0o755}, {"a/x", "1", 0o600}, {"a/y", "new", 0o644}, {"z", "33", 0o644}})
	treeA := treeOf(t, map[string]string{"/k": "", "/k/a": "1", "/k/b": "2", "/n": ""})
	treeB := treeOf(t, map[string]string{"/k": "", "/k/a": "1", "/k/b": "changed", "/k/c": "3"})
	same := tarOf(t, []file{{"./", "", 0o755}})
	rep, changes := diff(t,
		map[string][]byte{"paths/etc": tarA, "zookeeper/tree": treeA, "paths/gone": same},
		map[string][]byte{"paths/etc": tarB, "zookeeper/tree": treeB, "paths/new": same})
	want := []string{
		"paths/etc: changed a/x (mode 0644 → 0600)",
		"paths/etc: added a/y",
		"paths/etc: removed a-b",
		"paths/etc: changed z (size 1 → 2, content)",
		"zookeeper/tree: changed /k/b (data 1 bytes → 7 bytes)",
		"zookeeper/tree: added /k/c",
		"zookeeper/tree: removed /n",
	}
	if got := strings.Join(changes, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	var got []string
	for _, p := range rep.Parts {
		got = append(got, fmt.Sprintf("%s/%s %s %d/%d/%d", p.Source, p.Part, p.Status, p.Added, p.Removed, p.Changed))
	}
	wantParts := "paths/etc changed 1/1/2,zookeeper/tree changed 1/1/1,paths/gone only in A 0/0/0,paths/new only in B 0/0/0"
	if strings.Join(got, ",") != wantParts {
		t.Errorf("parts %s\nwant  %s", strings.Join(got, ","), wantParts)
	}
}

// TestDiffUnsorted: a tar whose entries are out of order is an error, not
// a wrong answer.
func TestDiffUnsorted(t *testing.T) {
	a := tarOf(t, []file{{"b", "1", 0o644}, {"a", "1", 0o644}})
	b := tarOf(t, []file{{"a", "2", 0o644}})
	m := func(id string, data []byte) *snapshot.Manifest {
		return &snapshot.Manifest{ID: id, Parts: []snapshot.Part{part("paths", "p", data)}}
	}
	_, err := Diff(t.Context(), m("A", a), m("B", b), Options{Open: func(_ context.Context, p snapshot.Part) (io.Reader, func() error, error) {
		if p.RawSize == int64(len(a)) && p.RawSHA256 == part("", "", a).RawSHA256 {
			return bytes.NewReader(a), func() error { return nil }, nil
		}
		return bytes.NewReader(b), func() error { return nil }, nil
	}})
	if err == nil || !strings.Contains(err.Error(), "not in the sorted order") {
		t.Fatalf("err = %v", err)
	}
}
