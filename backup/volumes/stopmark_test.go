package volumes

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// The fake's stop marks: volumes by name, in a map made on first use.
func (f *fakeAPI) VolumeCreate(_ context.Context, o volume.CreateOptions) (volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.volumes == nil {
		f.volumes = map[string]*volume.Volume{}
	}
	if id := o.Labels[LabelStoppedBy]; !f.running[id] {
		panic("stop mark made after the stop of " + id)
	}
	v := &volume.Volume{Name: o.Name, Labels: o.Labels, CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	f.volumes[o.Name] = v
	return *v, nil
}

func (f *fakeAPI) VolumeRemove(_ context.Context, name string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[name]; !ok {
		return errdefs.ErrNotFound
	}
	delete(f.volumes, name)
	return nil
}

func (f *fakeAPI) VolumeList(context.Context, volume.ListOptions) (volume.ListResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out volume.ListResponse
	for _, v := range f.volumes {
		if _, ok := v.Labels[LabelStoppedBy]; ok {
			out.Volumes = append(out.Volumes, v)
		}
	}
	return out, nil
}

// TestStopMarks: each stop is marked before it happens; the marks a killed
// run leaves make the next run start its containers, except one that was
// started and stopped again since (that stop was not zuulstate's).
func TestStopMarks(t *testing.T) {
	s, eng, f, g := coldGroup(t)
	// The owner is a pid that does not exist: the run is gone.
	dead := engine.OwnerOf(1 << 30)
	st := &stopper{api: eng.API, timeout: s.cfg.StopTimeout, log: s.cfg.Log, owner: dead}
	if err := st.stop(t.Context(), g.stop); err != nil {
		t.Fatal(err)
	}
	if len(f.volumes) != 3 {
		t.Fatalf("%d marks, want 3", len(f.volumes))
	}
	// Killed here. c is started by hand later and stopped again.
	f.startedAt = map[string]time.Time{"c": time.Now().Add(time.Hour)}
	// A live run's marks are not touched.
	if started, err := restartLeftStopped(t.Context(), eng.API, eng.Owner(), slog.New(slog.DiscardHandler)); err != nil || len(started) != 3-1 {
		t.Fatalf("started %q, err %v; want a and b", started, err)
	}
	slices.Sort(f.calls)
	if !f.running["a"] || !f.running["b"] || f.running["c"] {
		t.Fatalf("running %v; want a and b started, c left stopped", f.running)
	}
	if len(f.volumes) != 0 {
		t.Fatalf("marks left: %v", f.volumes)
	}

	// A live owner's marks stay, and its containers stay down.
	s, eng, f, g = coldGroup(t)
	st = &stopper{api: eng.API, timeout: s.cfg.StopTimeout, log: s.cfg.Log, owner: engine.OwnerOf(1)}
	if err := st.stop(t.Context(), g.stop); err != nil {
		t.Fatal(err)
	}
	if started, err := restartLeftStopped(t.Context(), eng.API, eng.Owner(), slog.New(slog.DiscardHandler)); err != nil || len(started) != 0 || len(f.volumes) != 3 {
		t.Fatalf("started %q (err %v) of a live run; %d marks", started, err, len(f.volumes))
	}

	// A complete cold copy leaves no mark.
	s, eng, f, g = coldGroup(t)
	err := s.copyGroup(t.Context(), eng, g, sinkFunc(func(ctx context.Context, _ string, produce repository.Produce) error {
		_, err := produce(ctx, io.Discard)
		return err
	}))
	if err != nil || len(f.volumes) != 0 {
		t.Fatalf("err %v, marks left %v", err, f.volumes)
	}
}
