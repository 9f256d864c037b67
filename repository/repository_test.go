package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage/local"
)

func newRepo(t *testing.T, opts Options) (*Repository, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, opts), dir
}

func writeString(s string) Produce {
	return func(_ context.Context, w io.Writer) (any, error) {
		_, err := io.WriteString(w, s)
		return map[string]string{"note": "meta"}, err
	}
}

func TestWriteCommitRead(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	for _, encrypted := range []bool{false, true} {
		opts := Options{}
		if encrypted {
			opts.Encode.Recipients = []age.Recipient{id.Recipient()}
			opts.Identities = []age.Identity{id}
		}
		repo, _ := newRepo(t, opts)
		ctx := t.Context()
		w := repo.NewWriter(SnapshotInfo{Host: "h", Tags: []string{"t"}})
		if _, err := w.WritePart(ctx, "paths", "b", writeString(strings.Repeat("bbb", 1000))); err != nil {
			t.Fatal(err)
		}
		if _, err := w.WritePart(ctx, "paths", "a", writeString("")); err != nil {
			t.Fatal(err)
		}
		if ids, _ := repo.IDs(ctx); len(ids) != 0 {
			t.Fatalf("snapshot listed before its manifest was written: %v", ids)
		}
		m, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := repo.Resolve(ctx, "latest")
		if err != nil || got != m.ID {
			t.Fatalf("latest = %q, %v; want %s", got, err, m.ID)
		}
		loaded, err := repo.Manifest(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var meta bytes.Buffer
		_ = json.Compact(&meta, loaded.Parts[1].Meta)
		if len(loaded.Parts) != 2 || loaded.Parts[0].Name != "a" || meta.String() != `{"note":"meta"}` {
			t.Fatalf("unexpected manifest: %+v", loaded)
		}
		dec, c, err := repo.OpenPart(ctx, loaded.Parts[1])
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(dec)
		c.Close()
		if err != nil || string(data) != strings.Repeat("bbb", 1000) {
			t.Fatalf("read back: %v", err)
		}
		if _, err := repo.Verify(ctx, loaded, true); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}
}

func TestFailedPartLeavesNothing(t *testing.T) {
	repo, dir := newRepo(t, Options{})
	ctx := t.Context()
	w := repo.NewWriter(SnapshotInfo{})
	if _, err := w.WritePart(ctx, "paths", "ok", writeString("fine")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("source broke")
	_, err := w.WritePart(ctx, "paths", "bad", func(_ context.Context, w io.Writer) (any, error) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1<<20))
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the source's error", err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("files left after abort: %v", left)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	repo, dir := newRepo(t, Options{})
	ctx := t.Context()
	w := repo.NewWriter(SnapshotInfo{})
	p, err := w.WritePart(ctx, "paths", "x", writeString(strings.Repeat("hello world ", 50000)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.FromSlash(p.Key))
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Verify(ctx, m, false); err != nil {
		t.Fatalf("shallow verify should pass (same size): %v", err)
	}
	if _, err := repo.Verify(ctx, m, true); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Fatalf("deep verify: got %v, want ErrCorrupt", err)
	}
	os.Remove(path)
	if _, err := repo.Verify(ctx, m, false); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Fatalf("missing part: got %v, want ErrCorrupt", err)
	}
}

func TestCorruptManifest(t *testing.T) {
	repo, dir := newRepo(t, Options{})
	ctx := t.Context()
	w := repo.NewWriter(SnapshotInfo{})
	m, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifests", m.ID+".json"), []byte(`{"format":1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Manifest(ctx, m.ID); !errors.Is(err, snapshot.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	if _, err := repo.Manifest(ctx, snapshot.NewID(time.Now())); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("unknown id: got %v", err)
	}
}

func TestLock(t *testing.T) {
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	l1, _, err := repo.Lock(ctx, LockOptions{Operation: "backup", Host: "a", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = repo.Lock(ctx, LockOptions{Operation: "prune", Host: "b", Wait: 300 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "held by a") {
		t.Fatalf("second lock: got %v, want ErrLocked naming the holder", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("did not wait for --lock-wait")
	}
	if err := l1.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	l2, _, err := repo.Lock(ctx, LockOptions{Operation: "prune", Host: "b"})
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if err := l2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if locks, _ := repo.Locks(ctx); len(locks) != 0 {
		t.Fatalf("locks left: %v", locks)
	}
}

func TestStaleLock(t *testing.T) {
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	old := time.Now().Add(-time.Hour)
	stale := LockInfo{Key: snapshot.LockPrefix + "dead.json", Host: "gone", PID: 1, Operation: "backup", Created: old, Refreshed: old, TTL: Duration(time.Minute)}
	if err := repo.putLock(ctx, stale); err != nil {
		t.Fatal(err)
	}
	l, _, err := repo.Lock(ctx, LockOptions{Operation: "backup"})
	if err != nil {
		t.Fatalf("a stale lock must not block: %v", err)
	}
	// Taken over: the holder is dead, its lock object goes.
	if locks, _ := repo.Locks(ctx); len(locks) != 1 || locks[0].Host == "gone" {
		t.Fatalf("locks while held: %v, want only the new one", locks)
	}
	_ = l.Unlock(ctx)
	if err := repo.putLock(ctx, stale); err != nil {
		t.Fatal(err)
	}
	removed, err := repo.RemoveLocks(ctx, "here", false)
	if err != nil || len(removed) != 1 || removed[0].Host != "gone" {
		t.Fatalf("RemoveLocks: %v %v", removed, err)
	}
}

// TestLatestIsNewest: two backups in the same second; latest is the second.
func TestLatestIsNewest(t *testing.T) {
	ctx := context.Background()
	repo, _ := newRepo(t, Options{})
	var ids []string
	for range 3 {
		if err := repo.WaitPastNewest(ctx); err != nil {
			t.Fatal(err)
		}
		w := repo.NewWriter(SnapshotInfo{})
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID())
	}
	latest, err := repo.Resolve(ctx, "latest")
	if err != nil || latest != ids[2] {
		t.Fatalf("latest = %s (%v), want the last written %s of %v", latest, err, ids[2], ids)
	}
}
