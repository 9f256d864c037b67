package zktree

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []*Record{
		{Path: "/a", Data: nil, ACL: zk.WorldACL(zk.PermAll), Seq: 7, Stat: zk.Stat{Czxid: 1, Mzxid: -1, Ctime: 1700000000000, Version: 3, Cversion: 12, NumChildren: 2, DataLength: 0}},
		{Path: "/a/empty", Data: []byte{}, ACL: []zk.ACL{{Perms: 1, Scheme: "digest", ID: "u:abc="}, {Perms: 31, Scheme: "ip", ID: "10.0.0.0/8"}}},
		{Path: "/a/bin\u00fc", Data: []byte{0, 1, 2, 0, 255}, Kind: KindContainer},
		{Path: "/a/ttl", Data: bytes.Repeat([]byte("x"), 70000), Kind: KindTTL, TTL: 90 * time.Second},
	}
	var buf bytes.Buffer
	enc, err := NewEncoder(&buf, Header{Format: 1, Profile: "zuul", Roots: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		id, err := enc.Node(r)
		if err != nil || !bytes.Equal(id, AppendIdentity(nil, r.Path, r.Data, r.ACL)) {
			t.Fatalf("identity: %v", err)
		}
	}
	if err := enc.Close(Trailer{Nodes: int64(len(recs))}); err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(bytes.NewReader(buf.Bytes()))
	if err != nil || dec.Header.Profile != "zuul" {
		t.Fatalf("header: %v %+v", err, dec)
	}
	for _, want := range recs {
		got, err := dec.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got.Path != want.Path || !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) ||
			!slices.Equal(got.ACL, want.ACL) || got.Kind != want.Kind || got.TTL != want.TTL || got.Stat != want.Stat || got.Seq != want.Seq {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if _, err := dec.Next(); !errors.Is(err, io.EOF) || dec.Trailer.Nodes != 4 {
		t.Fatalf("end: %v", err)
	}
	// Cut anywhere before the trailer's end, the stream is an error.
	for _, n := range []int{len(Magic) - 1, len(Magic) + 3, buf.Len() / 2, buf.Len() - 1} {
		dec, err := NewDecoder(bytes.NewReader(buf.Bytes()[:n]))
		for err == nil {
			_, err = dec.Next()
		}
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

func TestDFSOrder(t *testing.T) {
	paths := []string{"/a-b", "/a", "/a/b", "/a/b/c", "/b", "/a/a", "/a.b", "/a/b-c", "/", "/a/b/c/d", "/ab"}
	sort.Slice(paths, func(i, j int) bool { return DFSLess(paths[i], paths[j]) })
	want := []string{"/", "/a", "/a/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b-c", "/a-b", "/a.b", "/ab", "/b"}
	if !slices.Equal(paths, want) {
		t.Fatalf("order %v", paths)
	}
	for i := range paths {
		for j := range paths {
			if DFSLess(paths[i], paths[j]) != (sortKey(paths[i]) < sortKey(paths[j])) {
				t.Fatalf("sort key disagrees on %s, %s", paths[i], paths[j])
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	s := Normalize([]string{"/zuul", "/keystorage", "/keystorage/x", "/nodepool", "/zookeeper", "/zookeeper/quota"},
		[]string{"/zuul", "/nodepool/requests", "/elsewhere"})
	if !slices.Equal(s.Roots, []string{"/keystorage", "/nodepool"}) || !slices.Equal(s.Exclude, []string{"/nodepool/requests"}) {
		t.Fatalf("%+v", s)
	}
	if !s.Covered("/nodepool/nodes/1") || s.Covered("/nodepool/requests/1") || s.Covered("/zuul") {
		t.Fatal("covered")
	}
}

func TestCheckServerPath(t *testing.T) {
	for _, ok := range []string{"/a", "/ünïcødé-名前", "/a/b.c", "/a/..b"} {
		if err := CheckServerPath(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"/emoji-\U0001F600", "/private-\uE000", "/ctl-\x01", "/a/..", "/a/./b", "/a//b", "/a/", "/nul\x00", "/c1-\u0085", "/\ufff5"} {
		if err := CheckServerPath(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
