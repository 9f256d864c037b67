package demo

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// LabelDemo marks what the demo creates on the engine.
const LabelDemo = "zuulstate.demo"

// SeedDocker replaces the container, the image and both volumes of an
// earlier run, creates prod's log volume with n builds' logs, and starts
// the service container with the bind mounts (host files first: see
// WriteHostFiles).
func SeedDocker(ctx context.Context, eng *engine.Engine, s Setup) error {
	if err := RemoveDocker(ctx, eng, s); err != nil {
		return err
	}
	v, err := eng.API.VolumeCreate(ctx, volume.CreateOptions{Name: s.Volume, Labels: map[string]string{LabelDemo: "true", "purpose": "build-logs"}})
	if err != nil {
		return fmt.Errorf("create volume %s: %w", s.Volume, err)
	}
	// Direct writes: the demo runs as root next to the local engine, as
	// zuulstate's direct way does.
	if err := WriteBuildLogs(v.Mountpoint, s.Builds); err != nil {
		return fmt.Errorf("volume %s: %w", s.Volume, err)
	}
	if err := importImage(ctx, eng, s); err != nil {
		return err
	}
	var mounts []mount.Mount
	for _, src := range slices.Sorted(maps.Keys(s.Binds())) {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: src, Target: s.Binds()[src], ReadOnly: true})
	}
	resp, err := eng.API.ContainerCreate(ctx, &container.Config{Image: s.Image, Labels: map[string]string{LabelDemo: "true"}, StopSignal: "SIGTERM"},
		&container.HostConfig{NetworkMode: "none", Mounts: mounts, LogConfig: container.LogConfig{Type: "none"}}, nil, nil, s.Container)
	if err != nil {
		return fmt.Errorf("create container %s: %w", s.Container, err)
	}
	if err := eng.API.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", s.Container, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := eng.API.ContainerInspect(ctx, resp.ID)
		if err != nil {
			return err
		}
		if c.State.Running {
			return nil
		}
		if time.Now().After(deadline) || c.State.Status == "exited" {
			return fmt.Errorf("container %s does not run (state %s, exit code %d)", s.Container, c.State.Status, c.State.ExitCode)
		}
	}
}

// RemoveDocker removes the container, the image and both volumes if they
// exist.
func RemoveDocker(ctx context.Context, eng *engine.Engine, s Setup) error {
	if err := eng.API.ContainerRemove(ctx, s.Container, container.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", s.Container, err)
	}
	if _, err := eng.API.ImageRemove(ctx, s.Image, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", s.Image, err)
	}
	for _, v := range []string{s.Volume, s.DevVolume} {
		if err := eng.API.VolumeRemove(ctx, v, true); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove volume %s: %w", v, err)
		}
	}
	return nil
}

// importImage makes a FROM-scratch image whose only file is the service
// binary: no registry, no network.
func importImage(ctx context.Context, eng *engine.Engine, s Setup) error {
	f, err := os.Open(s.ServiceBinary)
	if err != nil {
		return fmt.Errorf("service binary for the demo image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "zuul-service", Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: fi.ModTime()})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	rc, err := eng.API.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, s.Image, image.ImportOptions{
		Changes: []string{"LABEL " + LabelDemo + "=true", `ENTRYPOINT ["/zuul-service", "serve"]`},
	})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("import image %s: %w", s.Image, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("import image %s: %w", s.Image, err)
	}
	return nil
}
