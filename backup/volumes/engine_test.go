package volumes

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// writerVolume is a volume with 64 MiB of data that a running writer
// container keeps writing to.
func writerVolume(t *testing.T, eng *engine.Engine, labels map[string]string) (vol, id string) {
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{})
	if err := os.WriteFile(filepath.Join(mp, "big"), []byte(strings.Repeat("zuul log line\n", 64<<20/14)), 0o644); err != nil {
		t.Fatal(err)
	}
	img := voltest.WriterImage(t, eng)
	id = voltest.RunWriter(t, eng, img, mount.Mount{Type: mount.TypeVolume, Source: vol}, labels)
	return vol, id
}

func runSnapshot(t *testing.T, eng *engine.Engine, cfg Config, sink sinkFunc) error {
	cfg.Engine, cfg.StopTimeout = eng, 5*time.Second
	err := New(cfg).Snapshot(t.Context(), sink)
	voltest.NoHelpers(t, eng, eng.Owner())
	return err
}

// TestColdCopyRealContainer: with stop set on the volume, or the label on
// the container, the writer is down during the copy and up afterwards;
// when the copy fails midway or is cancelled it is up again too.
func TestColdCopyRealContainer(t *testing.T) {
	eng := voltest.Engine(t)
	for _, how := range []string{"config", "label"} {
		t.Run(how, func(t *testing.T) {
			var labels map[string]string
			if how == "label" {
				labels = map[string]string{LabelStop: "true"}
			}
			vol, id := writerVolume(t, eng, labels)
			var meta volumespart.Meta
			err := runSnapshot(t, eng, Config{Volumes: []VolumeSel{{Name: vol, Stop: how == "config"}}},
				func(ctx context.Context, _ string, produce repository.Produce) error {
					if voltest.Running(t, eng, id) {
						t.Error("the writer runs during a cold copy")
					}
					m, err := produce(ctx, io.Discard)
					meta, _ = m.(volumespart.Meta)
					return err
				})
			if err != nil {
				t.Fatal(err)
			}
			if !voltest.Running(t, eng, id) {
				t.Error("the writer was not started again")
			}
			if meta.Copy != volumespart.CopyCold || len(meta.Stopped) != 1 || meta.Stopped[0].StartedAt.IsZero() || meta.Stopped[0].ID != id {
				t.Errorf("meta = %+v, want one stop record of the writer with its start", meta)
			}
		})
	}
	failures := map[string]func(context.Context, repository.Produce) error{
		"store fails midway": func(ctx context.Context, produce repository.Produce) error {
			_, err := produce(ctx, &failWriter{after: 8 << 20, err: errors.New("S3 went away")})
			return err
		},
		"cancelled midway": func(ctx context.Context, produce repository.Produce) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := produce(ctx, &failWriter{after: 8 << 20, hook: cancel})
			return err
		},
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			vol, id := writerVolume(t, eng, nil)
			err := runSnapshot(t, eng, Config{Volumes: []VolumeSel{{Name: vol, Stop: true}}},
				func(ctx context.Context, _ string, produce repository.Produce) error { return fail(ctx, produce) })
			if err == nil {
				t.Fatal("snapshot succeeded")
			}
			if !voltest.Running(t, eng, id) {
				t.Error("the writer was left stopped after a failed copy")
			}
		})
	}
}

// TestHotCopy: without stop, the copy is recorded as hot with its writer.
func TestHotCopy(t *testing.T) {
	eng := voltest.Engine(t)
	vol, id := writerVolume(t, eng, nil)
	var meta volumespart.Meta
	err := runSnapshot(t, eng, Config{Volumes: []VolumeSel{{Name: vol}}}, func(ctx context.Context, _ string, produce repository.Produce) error {
		m, err := produce(ctx, io.Discard)
		meta, _ = m.(volumespart.Meta)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Copy != volumespart.CopyHot || len(meta.Writers) != 1 || len(meta.Stopped) != 0 || !voltest.Running(t, eng, id) {
		t.Errorf("meta = %+v, want a hot copy naming the running writer", meta)
	}
	t.Logf("hot copy: %d files changed, %d vanished", meta.Stats.Changed, meta.Stats.Vanished)
}

func TestBadInput(t *testing.T) {
	eng := voltest.Engine(t)
	discard := func(ctx context.Context, _ string, produce repository.Produce) error {
		_, err := produce(ctx, io.Discard)
		return err
	}
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"volume missing":    {Config{Volumes: []VolumeSel{{Name: "zstest-missing"}}}, "volume zstest-missing not found"},
		"container missing": {Config{Containers: []ContainerSel{{Name: "zstest-missing"}}}, "container zstest-missing not found"},
		"label unused":      {Config{Volumes: []VolumeSel{{Label: "zstest.none=1"}}}, "no volume carries the label"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := runSnapshot(t, eng, c.cfg, discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	t.Run("engine unreachable", func(t *testing.T) {
		s := New(Config{Conn: engine.Conn{Host: "unix:///nonexistent/docker.sock"}, Volumes: []VolumeSel{{Name: "x"}}})
		err := s.Snapshot(t.Context(), sinkFunc(discard))
		if !errors.Is(err, engine.ErrUnreachable) || !strings.Contains(err.Error(), "is dockerd running") {
			t.Fatalf("err = %v, want ErrUnreachable with advice", err)
		}
	})
	t.Run("direct impossible", func(t *testing.T) {
		vol, _ := voltest.Volume(t, eng, volume.CreateOptions{DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
		err := runSnapshot(t, eng, Config{Mode: volumespart.ModeDirect, Volumes: []VolumeSel{{Name: vol}}}, discard)
		if err == nil || !strings.Contains(err.Error(), "mode direct") {
			t.Fatalf("err = %v, want a mode direct refusal", err)
		}
	})
}
