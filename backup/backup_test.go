package backup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/storage/local"
)

type fakeSource struct {
	name  string
	parts []string
	err   error
}

func (f fakeSource) Source() string { return f.name }

func (f fakeSource) Snapshot(ctx context.Context, sink PartSink) error {
	for _, p := range f.parts {
		err := sink.WritePart(ctx, p, func(_ context.Context, w io.Writer) (any, error) {
			_, err := io.WriteString(w, "content of "+p)
			return nil, err
		})
		if err != nil {
			return err
		}
	}
	return f.err
}

func newRepo(t *testing.T) (*repository.Repository, string) {
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repository.New(st, repository.Options{}), dir
}

func TestRunAllOrNothing(t *testing.T) {
	repo, dir := newRepo(t)
	boom := errors.New("database went away")
	_, err := Run(t.Context(), repo, []Snapshotter{
		fakeSource{name: "paths", parts: []string{"a", "b"}},
		fakeSource{name: "mariadb", parts: []string{"zuul"}, err: boom},
	}, Options{})
	var se *SourceError
	if !errors.As(err, &se) || se.Source != "mariadb" || !errors.Is(err, boom) {
		t.Fatalf("got %v, want a SourceError for mariadb wrapping the cause", err)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("a failed run left objects behind: %v", files)
	}
	m, err := Run(t.Context(), repo, []Snapshotter{fakeSource{name: "paths", parts: []string{"a"}}}, Options{})
	if err != nil || len(m.Parts) != 1 {
		t.Fatalf("second run: %v %+v", err, m)
	}
}

func TestRunCancelled(t *testing.T) {
	repo, _ := newRepo(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, repo, []Snapshotter{fakeSource{name: "paths", parts: []string{"a"}}}, Options{}); err == nil {
		t.Fatal("a cancelled run must fail")
	}
	if ids, _ := repo.IDs(t.Context()); len(ids) != 0 {
		t.Fatalf("snapshot written after cancel: %v", ids)
	}
	if locks, _ := repo.Locks(t.Context()); len(locks) != 0 {
		t.Fatalf("lock left after cancel: %v", locks)
	}
}
