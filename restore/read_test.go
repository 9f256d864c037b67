package restore

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
)

// countingStore counts the reads of each object.
type countingStore struct {
	storage.Store
	mu   sync.Mutex
	gets map[string]int
}

func (s *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.gets[key]++
	s.mu.Unlock()
	return s.Store.Get(ctx, key)
}

// reader restores by reading every part to its end.
type reader struct{ fakeRestorer }

func readAll(ctx context.Context, parts []snapshot.Part, open Opener) error {
	for _, p := range parts {
		r, finish, err := open(ctx, p)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		if ferr := finish(); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (reader) Restore(ctx context.Context, parts []snapshot.Part, open Opener) error {
	return readAll(ctx, parts, open)
}

// inspector also reads its parts before anything is written.
type inspector struct{ reader }

func (inspector) Inspect(ctx context.Context, parts []snapshot.Part, open Opener) error {
	return readAll(ctx, parts, open)
}

// TestEachPartReadTwice: a restore reads every part once to check it
// before writing and once to restore it, whether the check is the
// repository's or an Inspector's own read.
func TestEachPartReadTwice(t *testing.T) {
	base, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: base, gets: map[string]int{}}
	repo := repository.New(store, repository.Options{})
	w := repo.NewWriter(repository.SnapshotInfo{Host: "test"})
	for _, source := range []string{"plain", "inspected"} {
		_, err := w.WritePart(t.Context(), source, "a", func(_ context.Context, out io.Writer) (any, error) {
			_, err := io.Copy(out, bytes.NewReader(bytes.Repeat([]byte(source), 1000)))
			return nil, err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	restorers := []Restorer{reader{fakeRestorer{"plain"}}, inspector{reader{fakeRestorer{"inspected"}}}}
	for _, deep := range []bool{false, true} {
		clear(store.gets)
		if _, err := Run(t.Context(), repo, m, restorers, Options{DeepVerify: deep}); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Parts {
			if n := store.gets[p.Key]; n != 2 {
				t.Errorf("deep verify %v: part %s/%s read %d times, want 2", deep, p.Source, p.Name, n)
			}
		}
	}

	// An inspection that finds the part damaged stops the restore before
	// anything is written.
	broken := *m
	broken.Parts = append([]snapshot.Part(nil), m.Parts...)
	for i := range broken.Parts {
		if broken.Parts[i].Source == "inspected" {
			broken.Parts[i].RawSHA256 = strings.Repeat("0", 64)
		}
	}
	clear(store.gets)
	_, err = Run(t.Context(), repo, &broken, restorers, Options{})
	if err == nil || !strings.Contains(err.Error(), "nothing was restored") {
		t.Fatalf("damaged part: %v", err)
	}
	for _, p := range m.Parts {
		if n := store.gets[p.Key]; p.Source == "plain" && n != 0 {
			t.Errorf("part %s/%s read %d times after the inspection failed, want 0", p.Source, p.Name, n)
		}
	}
}
