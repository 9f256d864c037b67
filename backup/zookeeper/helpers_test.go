package zookeeper_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	. "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
)

func treeMeta(t *testing.T, s *zktest.Sink) TreeMeta {
	t.Helper()
	p, _ := s.Part(TreePart)
	var m TreeMeta
	if err := json.Unmarshal(p.Meta, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// records decodes the tree part.
func records(t *testing.T, s *zktest.Sink) ([]*Record, *Decoder) {
	t.Helper()
	_, data := s.Part(TreePart)
	d, err := NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []*Record
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
