package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// blockingSource writes one part and then waits for its context, as a long
// dump does; it reports how it ended.
type blockingSource struct {
	name    string
	started chan struct{}
	ended   chan error
}

func (b blockingSource) Source() string { return b.name }

func (b blockingSource) Snapshot(ctx context.Context, sink PartSink) error {
	return sink.WritePart(ctx, "big", func(ctx context.Context, w io.Writer) (any, error) {
		if _, err := io.WriteString(w, "some bytes"); err != nil {
			return nil, err
		}
		close(b.started)
		<-ctx.Done()
		b.ended <- ctx.Err()
		return nil, ctx.Err()
	})
}

// failAfter fails once the other source is running.
type failAfter struct {
	name string
	wait chan struct{}
	err  error
}

func (f failAfter) Source() string { return f.name }

func (f failAfter) Snapshot(ctx context.Context, _ PartSink) error {
	select {
	case <-f.wait:
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.err
}

func TestRunConcurrentFailureCancelsSiblings(t *testing.T) {
	repo, dir := newRepo(t)
	boom := errors.New("Unknown database 'nope'")
	blocker := blockingSource{name: "volumes", started: make(chan struct{}), ended: make(chan error, 1)}
	prog := &Progress{}
	_, err := Run(t.Context(), repo, []Snapshotter{
		blocker,
		failAfter{name: "mariadb", wait: blocker.started, err: boom},
		fakeSource{name: "paths", parts: []string{"a"}},
	}, Options{Progress: prog})
	var se *SourceError
	if !errors.As(err, &se) || se.Source != "mariadb" || !errors.Is(err, boom) {
		t.Fatalf("got %v, want the mariadb failure as the cause, not the cancelled sibling", err)
	}
	if got := <-blocker.ended; !errors.Is(got, context.Canceled) {
		t.Fatalf("sibling ended with %v, want cancelled", got)
	}
	if n := countFiles(t, dir); n != 0 {
		t.Fatalf("a failed run left %d objects behind", n)
	}
	ok := map[string]bool{}
	for _, s := range prog.Sources() {
		ok[s.Source] = !s.Running && s.Err == nil
	}
	if ok["mariadb"] || ok["volumes"] || len(ok) != 3 {
		t.Fatalf("progress after failure: %+v", prog.Sources())
	}
}

// orderSource records when it ran relative to the others.
type orderSource struct {
	name    string
	mu      *sync.Mutex
	running *int
	log     *[]string
}

func (o orderSource) Source() string { return o.name }

func (o orderSource) Snapshot(ctx context.Context, sink PartSink) error {
	o.mu.Lock()
	*o.running++
	*o.log = append(*o.log, fmt.Sprintf("%s start %d", o.name, *o.running))
	o.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	err := sink.WritePart(ctx, "p", func(_ context.Context, w io.Writer) (any, error) {
		_, err := io.WriteString(w, o.name)
		return nil, err
	})
	o.mu.Lock()
	*o.running--
	o.mu.Unlock()
	return err
}

func TestRunConcurrencyAndAfter(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		after       []string
		want        []string
	}{
		{"all at once, volumes last", 0, []string{"volumes"}, []string{"paths start 1", "mariadb start 2", "volumes start 1"}},
		{"serial, in configured order", 1, nil, []string{"volumes start 1", "paths start 1", "mariadb start 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, _ := newRepo(t)
			var mu sync.Mutex
			var running int
			var log []string
			var srcs []Snapshotter
			for _, n := range []string{"volumes", "paths", "mariadb"} {
				srcs = append(srcs, orderSource{name: n, mu: &mu, running: &running, log: &log})
			}
			m, err := Run(t.Context(), repo, srcs, Options{Concurrency: tc.concurrency, After: tc.after})
			if err != nil || len(m.Parts) != 3 {
				t.Fatalf("%v %+v", err, m)
			}
			if tc.concurrency == 0 {
				// paths and mariadb overlap (in either order); volumes runs alone after them.
				if len(log) != 3 || log[2] != "volumes start 1" || !strings.HasSuffix(log[1], "start 2") {
					t.Fatalf("log %v", log)
				}
				return
			}
			want := tc.want
			if !slices.Equal(log, want) {
				t.Fatalf("log %v, want %v", log, want)
			}
		})
	}
}

func TestRunPrune(t *testing.T) {
	repo, _ := newRepo(t)
	for range 3 {
		if _, err := Run(t.Context(), repo, []Snapshotter{fakeSource{name: "paths", parts: []string{"a"}}}, Options{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // ids have second resolution
	}
	po := &PruneOptions{Policy: repository.Policy{Last: 2}, Grace: time.Hour}
	m, err := Run(t.Context(), repo, []Snapshotter{fakeSource{name: "paths", parts: []string{"a"}}}, Options{Prune: po})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := repo.IDs(t.Context())
	if len(ids) != 2 || ids[1] != m.ID || po.Result == nil {
		t.Fatalf("after prune: %v (new %s)", ids, m.ID)
	}
	if locks, _ := repo.Locks(t.Context()); len(locks) != 0 {
		t.Fatalf("lock left: %v", locks)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
