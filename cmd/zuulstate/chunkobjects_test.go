package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
)

// The format 3 objects of a local repository, read and rewritten the way
// someone with write access to the bucket could (the tamper tests).

// encrypt makes the fixture's backups age-encrypted and gives its runs the
// identity; it returns the identity file.
func (f *fixture) encrypt(t *testing.T) string {
	t.Helper()
	key := filepath.Join(f.dir, "key.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	withKey := strings.Replace(string(cfg), "repository:\n", "repository:\n  encryption:\n    recipients: ["+strings.TrimSpace(r.stdout)+"]\n", 1)
	if err := os.WriteFile(f.config, []byte(withKey), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env = append(f.env, "ZUULSTATE_AGE_IDENTITY_FILE="+key)
	return key
}

// chunkRefs decodes a chunked part's chunk list.
func chunkRefs(t *testing.T, repo string, p snapshot.Part) []chunkstore.Ref {
	t.Helper()
	if p.Chunked == nil {
		t.Fatalf("part %s/%s is not chunked", p.Source, p.Name)
	}
	data, err := os.ReadFile(filepath.Join(repo, p.Key))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := snapshot.NewDecoder(bytes.NewReader(data), p.ListPart(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var refs []chunkstore.Ref
	if err := chunkstore.ReadChunkList(dec, func(r chunkstore.Ref) error {
		refs = append(refs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := dec.Finish(); err != nil {
		t.Fatal(err)
	}
	return refs
}

// writeChunkRefs replaces part i's chunk list by refs and rewrites the
// manifest to match, its own checksum included: a consistent forgery.
func writeChunkRefs(t *testing.T, repo string, m *snapshot.Manifest, i int, refs []chunkstore.Ref) {
	t.Helper()
	var stored bytes.Buffer
	enc, err := snapshot.NewEncoder(&stored, snapshot.EncodeOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := chunkstore.WriteChunkList(enc, refs); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	s := enc.Sums()
	p := &m.Parts[i]
	if err := os.WriteFile(filepath.Join(repo, p.Key), stored.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p.StoredSize, p.StoredSHA256 = s.StoredSize, s.StoredSHA256
	p.Chunked.ListSize, p.Chunked.ListSHA256, p.Chunked.Refs = s.RawSize, s.RawSHA256, int64(len(refs))
	writeManifest(t, repo, m)
}

// indexObjects decodes every index object of repo, by file path.
func indexObjects(t *testing.T, repo string) map[string][]chunkstore.IndexEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repo, chunkstore.IndexPrefix, "*.zst"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no index objects in %s (%v)", repo, err)
	}
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]chunkstore.IndexEntry{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zc.NewStreamReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		err = chunkstore.ReadIndex(zr, func(e chunkstore.IndexEntry) error {
			out[file] = append(out[file], e)
			return nil
		})
		zr.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return out
}

// writeIndexObject replaces the index object at file by entries, named by
// the sum of its new bytes as a writer of the repository would.
func writeIndexObject(t *testing.T, repo, file string, entries []chunkstore.IndexEntry) {
	t.Helper()
	var text bytes.Buffer
	if err := chunkstore.WriteIndex(&text, entries); err != nil {
		t.Fatal(err)
	}
	zc, err := codec.Lookup(codec.Default)
	if err != nil {
		t.Fatal(err)
	}
	data, err := zc.EncodeBlock(nil, text.Bytes(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, chunkstore.IndexKey(sha256.Sum256(data))), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chunkLocations maps every indexed chunk to its entry and the index
// object file that names it.
func chunkLocations(t *testing.T, repo string) (map[chunkstore.ID]chunkstore.IndexEntry, map[chunkstore.ID]string) {
	t.Helper()
	entries, files := map[chunkstore.ID]chunkstore.IndexEntry{}, map[chunkstore.ID]string{}
	for file, es := range indexObjects(t, repo) {
		for _, e := range es {
			entries[e.ID], files[e.ID] = e, file
		}
	}
	return entries, files
}

// restoreRepoExactly puts back the files of a pristine copy and removes
// the ones a tampering added (a renamed index object).
func restoreRepoExactly(t *testing.T, root string, pristine map[string][]byte) {
	t.Helper()
	for p := range repoFiles(t, root) {
		if _, ok := pristine[p]; !ok {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	restoreRepo(t, pristine)
}

// flipInFile flips one bit at offset at of file.
func flipInFile(t *testing.T, file string, pristine []byte, at int64) {
	t.Helper()
	data := bytes.Clone(pristine)
	data[at] ^= 0x08
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
