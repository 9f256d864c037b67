// Package voltest gives the tests of the volumes source, its restore and
// the CLI the Docker engine of scripts/dev-services.sh, a statically built
// zuulstate for helper images, a FROM-scratch image around a small writer
// program for running containers, scratch volumes, and the full-fidelity
// torture tree with an entry-by-entry comparison (tree.go).
package voltest

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// LabelTest marks what tests create, so leftovers are easy to find.
const LabelTest = "zuulstate.test"

// Host returns the dev-services engine address (skip or fail per testenv).
func Host(t testing.TB) string { return testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_HOST") }

// Engine connects to the dev-services engine.
func Engine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.Connect(t.Context(), engine.Conn{Host: Host(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Name returns a unique name with prefix.
func Name(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

var builds sync.Map // package path -> *build

type build struct {
	once sync.Once
	path string
	err  error
}

// Static builds a main package of this module with CGO_ENABLED=0 once per
// test process, into a world-readable directory, and returns the binary.
func Static(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		removeDeadBuilds()
		dir, err := os.MkdirTemp("", fmt.Sprintf("zuulstate-static-%d-", os.Getpid()))
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// removeDeadBuilds deletes the build directories of test processes that
// have ended: a test process cannot remove its own on exit, and each holds
// 20 MB of binaries.
func removeDeadBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "zuulstate-static-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "zuulstate-static-%d-", &pid); err != nil || pid <= 0 {
			continue // an older name without a pid: left alone
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// Zuulstate is a static zuulstate binary.
func Zuulstate(t testing.TB) string {
	return Static(t, "github.com/zuulstate/zuulstate/cmd/zuulstate")
}

// WriterImage imports a FROM-scratch image holding the writer program as
// /writer and returns its reference; it is removed after the test.
func WriterImage(t testing.TB, e *engine.Engine) string {
	t.Helper()
	bin := Static(t, "github.com/zuulstate/zuulstate/internal/voltest/writer")
	ref := "zuulstate-test-writer:" + Name("t")[2:]
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(layer(pw, bin, "writer")) }()
	rc, err := e.API.ImageImport(t.Context(), image.ImportSource{Source: pr, SourceName: "-"}, ref, image.ImportOptions{
		Changes: []string{"LABEL " + LabelTest + "=true", `ENTRYPOINT ["/writer"]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.API.ImageRemove(context.WithoutCancel(t.Context()), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return ref
}

func layer(w io.Writer, bin, name string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: fi.ModTime()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

// Volume creates a scratch volume (removed after the test) and returns
// its name and mountpoint.
func Volume(t testing.TB, e *engine.Engine, opts volume.CreateOptions) (string, string) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = Name("zstest")
	}
	if opts.Labels == nil {
		opts.Labels = map[string]string{}
	}
	opts.Labels[LabelTest] = "true"
	v, err := e.API.VolumeCreate(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveVolume(t, e, v.Name) })
	return v.Name, v.Mountpoint
}

// RemoveVolume removes a volume if it exists.
func RemoveVolume(t testing.TB, e *engine.Engine, name string) {
	_ = e.API.VolumeRemove(context.WithoutCancel(t.Context()), name, true)
}

// RunWriter starts a writer container that mounts m at /data, with
// labels, and returns its id; it is removed after the test.
func RunWriter(t testing.TB, e *engine.Engine, img string, m mount.Mount, labels map[string]string) string {
	t.Helper()
	m.Target = "/data"
	id, _ := Container(t, e, img, []mount.Mount{m}, labels)
	if err := e.API.ContainerStart(t.Context(), id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// Container creates (does not start) a container of img with mounts and
// labels, no network, and returns its id and name; it is removed after
// the test.
func Container(t testing.TB, e *engine.Engine, img string, mounts []mount.Mount, labels map[string]string) (id, name string) {
	t.Helper()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelTest] = "true"
	name = Name("zstest-writer")
	resp, err := e.API.ContainerCreate(t.Context(), &container.Config{Image: img, Labels: labels, StopSignal: "SIGTERM"},
		&container.HostConfig{NetworkMode: "none", Mounts: mounts, LogConfig: container.LogConfig{Type: "none"}},
		nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.API.ContainerRemove(context.WithoutCancel(t.Context()), resp.ID, container.RemoveOptions{Force: true})
	})
	return resp.ID, name
}

// Running reports whether a container runs.
func Running(t testing.TB, e *engine.Engine, id string) bool {
	t.Helper()
	c, err := e.API.ContainerInspect(context.WithoutCancel(t.Context()), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.State.Running
}

// WaitRunning waits up to 10s for a container to run.
func WaitRunning(t testing.TB, e *engine.Engine, id string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if Running(t, e, id) {
			return true
		}
	}
	return false
}

// NoHelpers fails the test if any helper container or image of owner
// (an Engine.Owner value; "" for any owner) exists.
func NoHelpers(t testing.TB, e *engine.Engine, owner string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	cs, err := e.API.ContainerList(ctx, container.ListOptions{All: true, Filters: engine.HelperFilter()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if owner == "" || c.Labels[engine.LabelOwner] == owner {
			t.Errorf("helper container %s (%s) left behind", c.ID[:12], c.Labels[engine.LabelOwner])
		}
	}
	imgs, err := e.API.ImageList(ctx, image.ListOptions{All: true, Filters: engine.HelperFilter()})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		if owner == "" || img.Labels[engine.LabelOwner] == owner {
			t.Errorf("helper image %s (%s) left behind", img.ID, img.Labels[engine.LabelOwner])
		}
	}
}
