package monitor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
)

func newRepo(t *testing.T) (*repository.Repository, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repository.New(st, repository.Options{}), dir
}

// writeSnapshot commits a one-part snapshot that ended at end.
func writeSnapshot(t *testing.T, repo *repository.Repository, end time.Time) *snapshot.Manifest {
	t.Helper()
	w := repo.NewWriter(repository.SnapshotInfo{Now: func() time.Time { return end }})
	if _, err := w.WritePart(t.Context(), "paths", "data", func(_ context.Context, out io.Writer) (any, error) {
		_, err := io.WriteString(out, "data")
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func failedStatus(now time.Time) *Status {
	return &Status{Started: now.Add(-time.Minute), Finished: now, Result: ResultFailure,
		Error: "backup failed: source mariadb: Error 1049: Unknown database 'nope'", Snapshots: 1,
		Sources: []SourceStatus{{Source: "paths", Seconds: 1.5, RawBytes: 1000}, {Source: "mariadb"}}}
}

func TestStatusCarriesLastSuccess(t *testing.T) {
	repo, _ := newRepo(t)
	now := time.Now().UTC()
	ok := &Status{Started: now.Add(-time.Minute), Finished: now, Result: ResultSuccess, SnapshotID: "20260101T000000Z-00000000"}
	if err := WriteStatus(t.Context(), repo.Store(), ok); err != nil {
		t.Fatal(err)
	}
	if err := WriteStatus(t.Context(), repo.Store(), failedStatus(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	got, err := ReadStatus(t.Context(), repo.Store())
	if err != nil || got.Succeeded() || !got.LastSuccess.Equal(now) || got.LastSuccessID != ok.SnapshotID {
		t.Fatalf("%v %+v", err, got)
	}
}

func TestTextfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zuulstate.prom")
	now := time.Unix(1_700_000_000, 0)
	s := failedStatus(now)
	s.LastSuccess = now.Add(-24 * time.Hour)
	s.ToolVersion = "v1.2.0-3-gabcdef0"
	if err := WriteTextfile(path, Registry(s)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"zuulstate_backup_last_success 0\n",
		"zuulstate_backup_last_attempt_timestamp_seconds 1.7e+09\n",
		"zuulstate_backup_last_success_timestamp_seconds 1.6999136e+09\n",
		"zuulstate_backup_duration_seconds 60\n",
		`zuulstate_backup_source_success{source="mariadb"} 0` + "\n",
		`zuulstate_backup_source_raw_bytes{source="paths"} 1000` + "\n",
		`zuulstate_backup_source_duration_seconds{source="paths"} 1.5` + "\n",
		"zuulstate_repository_snapshots 1\n",
		`zuulstate_build_info{version="v1.2.0-3-gabcdef0"} 1` + "\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile lacks %q:\n%s", want, data)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v: node_exporter must be able to read it", fi.Mode())
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestPush(t *testing.T) {
	var mu sync.Mutex
	var method, path, body, user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		method, path, body = r.Method, r.URL.Path, string(b)
		user, pass, _ = r.BasicAuth()
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := failedStatus(time.Unix(1_700_000_000, 0))
	err := Push(t.Context(), PushOptions{URL: srv.URL, Job: "zuulstate", Instance: "zuul01", Username: "u", Password: "p", Timeout: 5 * time.Second}, Registry(s))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if method != http.MethodPut || path != "/metrics/job/zuulstate/instance/zuul01" || user != "u" || pass != "p" {
		t.Fatalf("pushed %s %s as %s", method, path, user)
	}
	if len(body) == 0 {
		t.Fatal("empty push")
	}

	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusUnauthorized) })
	if err := Push(t.Context(), PushOptions{URL: srv.URL, Job: "zuulstate"}, Registry(s)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a rejected push must fail: %v", err)
	}
}

func TestCheck(t *testing.T) {
	now := time.Now()
	o := CheckOptions{MaxAge: 26 * time.Hour, WarnAge: 25 * time.Hour, Now: now}
	expect := func(t *testing.T, r CheckResult, state int, fragments ...string) {
		t.Helper()
		if r.State != state {
			t.Fatalf("state %d, want %d: %s", r.State, state, r.Line())
		}
		for _, f := range fragments {
			if !strings.Contains(r.Line(), f) {
				t.Fatalf("%q lacks %q", r.Line(), f)
			}
		}
	}
	t.Run("empty", func(t *testing.T) {
		repo, _ := newRepo(t)
		expect(t, Check(t.Context(), repo, o), Critical, "ZUULSTATE CRITICAL - no snapshot in")
	})
	t.Run("ok then too old", func(t *testing.T) {
		repo, _ := newRepo(t)
		m := writeSnapshot(t, repo, now.Add(-30*time.Hour))
		expect(t, Check(t.Context(), repo, o), Critical, "newest verified snapshot "+m.ID+" is 30h old (max 26h)")
		m = writeSnapshot(t, repo, now.Add(-25*time.Hour-30*time.Minute))
		expect(t, Check(t.Context(), repo, o), Warning, "WARNING", m.ID)
		m = writeSnapshot(t, repo, now.Add(-time.Hour))
		expect(t, Check(t.Context(), repo, o), OK, "ZUULSTATE OK - newest verified snapshot "+m.ID+" is 60m old", "snapshots=3")
	})
	t.Run("newest broken", func(t *testing.T) {
		repo, dir := newRepo(t)
		good := writeSnapshot(t, repo, now.Add(-2*time.Hour))
		bad := writeSnapshot(t, repo, now.Add(-time.Hour))
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(bad.Parts[0].Key))); err != nil {
			t.Fatal(err)
		}
		expect(t, Check(t.Context(), repo, o), Warning, good.ID, "1 newer snapshot(s) fail verification ("+bad.ID)
	})
	t.Run("last run failed", func(t *testing.T) {
		repo, _ := newRepo(t)
		writeSnapshot(t, repo, now.Add(-time.Hour))
		if err := WriteStatus(t.Context(), repo.Store(), failedStatus(now)); err != nil {
			t.Fatal(err)
		}
		expect(t, Check(t.Context(), repo, o), Critical, "last backup run at", "failed: backup failed: source mariadb")
	})
	t.Run("unreachable", func(t *testing.T) {
		repo := repository.New(brokenStore{}, repository.Options{})
		expect(t, Check(t.Context(), repo, o), Unknown, "ZUULSTATE UNKNOWN - cannot read the repository", "connection refused")
	})
}

type brokenStore struct{ storage.Store }

var errDown = errors.Join(storage.ErrUnreachable, errors.New("dial tcp 127.0.0.1:1: connection refused"))

func (brokenStore) Get(context.Context, string) (io.ReadCloser, error) { return nil, errDown }
func (brokenStore) List(context.Context, string, func(storage.ObjectInfo) error) error {
	return errDown
}
func (brokenStore) String() string { return "s3://down/" }
