package zookeeper_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

func treeMeta(t *testing.T, s *zktest.Sink) zktree.TreeMeta {
	t.Helper()
	p, _ := s.Part(zktree.TreePart)
	var m zktree.TreeMeta
	if err := json.Unmarshal(p.Meta, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// records decodes the tree part.
func records(t *testing.T, s *zktest.Sink) ([]*zktree.Record, *zktree.Decoder) {
	t.Helper()
	_, data := s.Part(zktree.TreePart)
	d, err := zktree.NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []*zktree.Record
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, d
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}
