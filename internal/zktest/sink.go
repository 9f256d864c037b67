package zktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Sink is a backup.PartSink that keeps parts in memory, safe for
// concurrent parts, and opens them again for a restore.
type Sink struct {
	Source string
	mu     sync.Mutex
	data   map[string][]byte
	parts  []snapshot.Part
}

// WritePart implements backup.PartSink.
func (s *Sink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	var buf bytes.Buffer
	meta, err := produce(ctx, &buf)
	if err != nil {
		return err
	}
	p := snapshot.Part{Source: s.Source, Name: name, RawSize: int64(buf.Len())}
	if meta != nil {
		if p.Meta, err = json.Marshal(meta); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = map[string][]byte{}
	}
	if _, dup := s.data[name]; dup {
		return fmt.Errorf("part %s written twice", name)
	}
	s.data[name] = buf.Bytes()
	s.parts = append(s.parts, p)
	slices.SortFunc(s.parts, func(a, b snapshot.Part) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	return nil
}

// Parts returns the parts written, sorted by name.
func (s *Sink) Parts() []snapshot.Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.parts)
}

// Part returns one part's description and bytes.
func (s *Sink) Part(name string) (snapshot.Part, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		if p.Name == name {
			return p, s.data[name]
		}
	}
	return snapshot.Part{}, nil
}

// Set replaces a part (for crafted parts).
func (s *Sink) Set(p snapshot.Part, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = map[string][]byte{}
	}
	s.data[p.Name] = data
	s.parts = slices.DeleteFunc(s.parts, func(q snapshot.Part) bool { return q.Name == p.Name })
	s.parts = append(s.parts, p)
}

// Open is a restore.Opener over the parts.
func (s *Sink) Open(_ context.Context, p snapshot.Part) (io.Reader, func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.data[p.Name]
	if !ok {
		return nil, nil, fmt.Errorf("no part %s", p.Name)
	}
	return bytes.NewReader(data), func() error { return nil }, nil
}
