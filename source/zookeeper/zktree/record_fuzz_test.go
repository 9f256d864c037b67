package zktree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestWriteFuzzSeeds writes the seed corpus of FuzzRecordDecoder with the
// real encoder; run with ZUULSTATE_WRITE_FUZZ_SEEDS=1 after a format change.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ZUULSTATE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set ZUULSTATE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	seeds := map[string][]*Record{
		"empty-tree": nil,
		"zuul-keys": {
			{Path: "/keystorage", ACL: zk.WorldACL(zk.PermAll), Seq: 3, Stat: zk.Stat{Czxid: 2, Cversion: 4, NumChildren: 2}},
			{Path: "/keystorage/gerrit/org/project/secrets", Data: []byte(`{"schema":1,"keys":[{"private_key":"x"}]}`), ACL: []zk.ACL{{Perms: 31, Scheme: "digest", ID: "zuul:abc="}}},
			{Path: "/nodepool/launcher", Data: []byte{0x78, 0x9c, 0, 1, 2}, Kind: KindContainer, ACL: zk.WorldACL(zk.PermRead)},
			{Path: "/zuul/ttl", Data: []byte{}, Kind: KindTTL, TTL: time.Minute, ACL: zk.WorldACL(zk.PermAll)},
		},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRecordDecoder")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, recs := range seeds {
		var buf bytes.Buffer
		enc, err := NewEncoder(&buf, Header{Format: 1, Profile: "zuul", Roots: []string{"/keystorage"}, Created: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if _, err := enc.Node(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(Trailer{Nodes: int64(len(recs))}); err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", buf.Bytes())
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzRecordDecoder: the tree part decoder (the restore side reads parts
// with it) must end every input with io.EOF after a trailer or an ErrFormat
// error, without panicking and without allocating more than the input can
// justify.
func FuzzRecordDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("header error does not wrap ErrFormat: %v", err)
			}
			return
		}
		for range len(data) + 1 {
			r, err := dec.Next()
			switch {
			case errors.Is(err, io.EOF):
				if dec.Trailer == nil {
					t.Fatal("io.EOF without a trailer")
				}
				return
			case err != nil:
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("error does not wrap ErrFormat: %v", err)
				}
				return
			}
			if len(r.Data) > len(data) || len(r.ACL) > len(data) {
				t.Fatalf("record larger than its input: %d data bytes, %d ACLs", len(r.Data), len(r.ACL))
			}
		}
		t.Fatal("more records than input bytes")
	})
}
