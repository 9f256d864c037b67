package volumes

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// fakeAPI records container stops and starts; everything else panics
// (the embedded nil interface), so a test notices unexpected calls.
type fakeAPI struct {
	engine.API
	mu       sync.Mutex
	calls    []string
	running  map[string]bool
	startErr map[string]error
	// startCtxErr records ctx.Err() seen by each start: restarts must use
	// a context that a cancelled run did not cancel.
	startCtxErr []error
	volumes     map[string]*volume.Volume // stop marks (stopmark_test.go)
	startedAt   map[string]time.Time
}

func (f *fakeAPI) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
		ID: id, State: &container.State{Running: f.running[id], StartedAt: f.startedAt[id].Format(time.RFC3339Nano)}}}, nil
}

func (f *fakeAPI) ContainerStop(_ context.Context, id string, _ container.StopOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+id)
	f.running[id] = false
	return nil
}

func (f *fakeAPI) ContainerStart(ctx context.Context, id string, _ container.StartOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+id)
	f.startCtxErr = append(f.startCtxErr, ctx.Err())
	if err := f.startErr[id]; err != nil {
		return err
	}
	f.running[id] = true
	return nil
}

// sinkFunc adapts a function to backup.PartSink.
type sinkFunc func(ctx context.Context, name string, produce repository.Produce) error

func (s sinkFunc) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	return s(ctx, name, produce)
}

// coldGroup is one bind path copied cold with containers a, b, c, which
// run; the copy has 16 MiB to read (dirtar checks ctx every 4 MiB).
func coldGroup(t *testing.T) (*Snapshotter, *engine.Engine, *fakeAPI, *group) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := []ref{{"a", "a"}, {"b", "b"}, {"c", "c"}}
	f := &fakeAPI{running: map[string]bool{"a": true, "b": true, "c": true}, startErr: map[string]error{}}
	it := &item{part: "p", kind: volumespart.KindBind, path: dir, way: volumespart.WayDirect, stop: true, toStop: refs}
	return New(Config{}), engine.New(f, "unix:///fake.sock", nil), f, &group{items: []*item{it}, stop: refs}
}

var wantOrder = []string{"stop a", "stop b", "stop c", "start c", "start b", "start a"}

func checkRestarted(t *testing.T, f *fakeAPI) {
	t.Helper()
	if !slices.Equal(f.calls, wantOrder) {
		t.Errorf("calls = %q, want %q", f.calls, wantOrder)
	}
	for id, run := range f.running {
		if !run {
			t.Errorf("container %s left stopped", id)
		}
	}
	for _, err := range f.startCtxErr {
		if err != nil {
			t.Errorf("a container was started with a dead context: %v", err)
		}
	}
}

func TestColdCopyRestartsInReverseOrder(t *testing.T) {
	s, eng, f, g := coldGroup(t)
	var meta volumespart.Meta
	sink := sinkFunc(func(ctx context.Context, _ string, produce repository.Produce) error {
		for id, run := range f.running {
			if run {
				t.Errorf("container %s runs during the copy", id)
			}
		}
		m, err := produce(ctx, io.Discard)
		meta, _ = m.(volumespart.Meta)
		return err
	})
	if err := s.copyGroup(t.Context(), eng, g, sink); err != nil {
		t.Fatal(err)
	}
	checkRestarted(t, f)
	if meta.Copy != volumespart.CopyCold || len(meta.Stopped) != 3 {
		t.Fatalf("meta = %+v, want a cold copy with 3 stopped containers", meta)
	}
	for _, st := range meta.Stopped {
		if st.StartedAt.IsZero() || st.StartedAt.Before(st.StoppedAt) {
			t.Errorf("stop record %+v lacks a start after the stop", st)
		}
	}
}

// TestColdCopyRestartsOnFailure covers the ways a copy ends early: the
// store failing midway, a cancel (SIGTERM) midway, a panic.
func TestColdCopyRestartsOnFailure(t *testing.T) {
	storeDown := errors.New("store went away")
	cases := map[string]func(ctx context.Context, cancel context.CancelFunc, produce repository.Produce) error{
		"store fails": func(ctx context.Context, _ context.CancelFunc, produce repository.Produce) error {
			_, err := produce(ctx, &failWriter{after: 1 << 20, err: storeDown})
			return err
		},
		"cancel": func(ctx context.Context, cancel context.CancelFunc, produce repository.Produce) error {
			_, err := produce(ctx, &failWriter{after: 1 << 20, hook: cancel})
			return err
		},
		"panic": func(context.Context, context.CancelFunc, repository.Produce) error {
			panic("boom")
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			s, eng, f, g := coldGroup(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			sink := sinkFunc(func(ctx context.Context, _ string, produce repository.Produce) error {
				return run(ctx, cancel, produce)
			})
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = errors.New("panicked")
					}
				}()
				err = s.copyGroup(ctx, eng, g, sink)
			}()
			if err == nil {
				t.Fatal("copyGroup succeeded")
			}
			checkRestarted(t, f)
		})
	}
}

func TestColdCopyReportsFailedRestart(t *testing.T) {
	s, eng, f, g := coldGroup(t)
	f.startErr["b"] = errors.New("port already allocated")
	sink := sinkFunc(func(ctx context.Context, _ string, produce repository.Produce) error {
		_, err := produce(ctx, io.Discard)
		return err
	})
	err := s.copyGroup(t.Context(), eng, g, sink)
	if err == nil || !strings.Contains(err.Error(), "docker start b") {
		t.Fatalf("err = %v, want it to say how to start b", err)
	}
	if !f.running["a"] || !f.running["c"] {
		t.Error("a failed start of b kept the others stopped")
	}
}

// failWriter accepts after bytes, then fails with err or calls hook.
type failWriter struct {
	n, after int
	err      error
	hook     func()
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > w.after {
		if w.hook != nil {
			w.hook()
		}
		if w.err != nil {
			return 0, w.err
		}
	}
	return len(p), nil
}

func TestGroupItemsMergesSharedContainers(t *testing.T) {
	a, b, c := ref{"a", "a"}, ref{"b", "b"}, ref{"c", "c"}
	items := []*item{
		{part: "v1", toStop: []ref{a}},
		{part: "hot"},
		{part: "v2", toStop: []ref{b}},
		{part: "v3", toStop: []ref{a, b}},
		{part: "v4", toStop: []ref{c}},
	}
	var got []string
	for _, g := range groupItems(items) {
		var names []string
		for _, it := range g.items {
			names = append(names, it.part)
		}
		got = append(got, strings.Join(names, "+"))
	}
	want := []string{"v1+v2+v3", "hot", "v4"}
	if !slices.Equal(got, want) {
		t.Errorf("groups = %q, want %q", got, want)
	}
}
