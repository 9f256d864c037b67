package chunkstore

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// slowStore makes every Put take a while and honour its context, as an
// upload to S3 does.
type slowStore struct {
	storage.Store
}

func (s slowStore) Put(ctx context.Context, key string, r io.Reader) error {
	select {
	case <-time.After(200 * time.Millisecond):
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	return s.Store.Put(ctx, key, r)
}

// TestPackUploadOutlivesItsPart: a pack filled by one part is still being
// uploaded when that part ends and its context is cancelled (the
// repository gives each part's object a context of its own); the upload
// must go on under the session, and Abort must stop it.
func TestPackUploadOutlivesItsPart(t *testing.T) {
	for _, abort := range []bool{false, true} {
		f := newFixture(t, false)
		ctx := context.Background()
		cs, err := OpenForBackup(ctx, slowStore{f.store}, f.opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := cs.Begin(ctx, "s1", SessionOptions{PackSize: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		partCtx, cancel := context.WithCancel(ctx)
		var list bytes.Buffer
		pw, err := s.NewPart(partCtx, &list, PartOptions{Source: "test", Name: "db"})
		if err != nil {
			t.Fatal(err)
		}
		data := randomish(3, 3<<20)
		if _, err := pw.Write(data); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		cancel() // the part is done; its packs may still be uploading
		if abort {
			start := time.Now()
			if err := s.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if keys := keysOf(t, f.store, PackPrefix); len(keys) != 0 {
				t.Fatalf("Abort left %v (after %s)", keys, time.Since(start))
			}
			continue
		}
		if err := s.Finish(ctx); err != nil {
			t.Fatalf("Finish after the part's context ended: %v", err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := f.read(list.Bytes()); !bytes.Equal(got, data) {
			t.Fatal("the part does not read back")
		}
	}
}

func keysOf(t *testing.T, store storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := store.List(context.Background(), prefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}
