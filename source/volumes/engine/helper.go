package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

// HelperMountPath is where a helper sees the volume or bind path.
const HelperMountPath = "/v"

// Mount is what a helper mounts at HelperMountPath.
type Mount struct {
	Volume string // a named volume, or
	Bind   string // a host path (created by the engine when missing)
	// ReadOnly for backups: a helper never needs to write a source.
	ReadOnly bool
}

// Helper is one helper container.
type Helper struct {
	e  *Engine
	ID string
}

// CreateHelper creates (and does not start) a helper container from the
// run's helper image, with no network and the log driver off (a restore
// streams its data over attach, which json-file would copy to disk).
// cmd is what it runs if started.
func (e *Engine) CreateHelper(ctx context.Context, img string, m Mount, cmd []string, stdin bool) (*Helper, error) {
	hc := &container.HostConfig{
		NetworkMode: "none",
		LogConfig:   container.LogConfig{Type: "none"},
		// Restores set security.* and trusted.* xattrs, which the kernel
		// allows only with CAP_SYS_ADMIN; the helper runs nothing but
		// zuulstate's extractor and has no network.
		CapAdd: []string{"SYS_ADMIN"},
	}
	switch {
	case m.Volume != "":
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: m.Volume, Target: HelperMountPath, ReadOnly: m.ReadOnly}}
	case strings.Contains(m.Bind, ":"):
		return nil, fmt.Errorf("bind path %q contains ':', which the engine API cannot mount", m.Bind)
	default:
		// Binds (not Mounts) so the engine creates a missing host path.
		bind := m.Bind + ":" + HelperMountPath
		if m.ReadOnly {
			bind += ":ro"
		}
		hc.Binds = []string{bind}
	}
	cfg := &container.Config{
		Image:           img,
		Cmd:             cmd,
		User:            "0:0",
		WorkingDir:      "/",
		NetworkDisabled: true,
		AttachStdin:     stdin,
		OpenStdin:       stdin,
		StdinOnce:       stdin,
		AttachStdout:    stdin,
		AttachStderr:    stdin,
		Labels:          map[string]string{LabelHelper: "true", LabelOwner: e.owner},
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails
	resp, err := e.API.ContainerCreate(ctx, cfg, hc, nil, nil, "zuulstate-helper-"+hex.EncodeToString(b))
	if err != nil {
		return nil, e.Wrap(err, "create helper container")
	}
	return &Helper{e: e, ID: resp.ID}, nil
}

// Remove deletes the helper, running or not. Call it with a context that
// outlives a cancelled run.
func (h *Helper) Remove(ctx context.Context) error {
	err := h.e.API.ContainerRemove(ctx, h.ID, container.RemoveOptions{Force: true})
	if err != nil && !IsNotFound(err) {
		return h.e.Wrap(err, "remove helper container "+h.ID[:12]+" (it is removed by the next run, or: docker rm -f "+h.ID[:12]+")")
	}
	return nil
}

// CopyFrom streams path from the (never started) helper as a tar archive.
func (h *Helper) CopyFrom(ctx context.Context, path string) (io.ReadCloser, error) {
	rc, _, err := h.e.API.CopyFromContainer(ctx, h.ID, path)
	if err != nil {
		return nil, h.e.Wrap(err, "copy from helper container")
	}
	return rc, nil
}

// maxOutput bounds what a helper may print: a JSON result and an error.
const maxOutput = 1 << 20

// Run starts the helper with stdin streamed from in, waits for it to
// exit, and returns its stdout. A non-zero exit returns its stderr as the
// error. The attach is made before the start, so no output is lost.
func (h *Helper) Run(ctx context.Context, in io.Reader) ([]byte, error) {
	api := h.e.API
	hj, err := api.ContainerAttach(ctx, h.ID, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, h.e.Wrap(err, "attach to helper container")
	}
	defer hj.Close()
	// The hijacked connection ignores ctx; closing it ends both copies.
	stop := context.AfterFunc(ctx, hj.Close)
	defer stop()
	waitC, waitErr := api.ContainerWait(ctx, h.ID, container.WaitConditionNextExit)
	if err := api.ContainerStart(ctx, h.ID, container.StartOptions{}); err != nil {
		return nil, h.e.Wrap(err, "start helper container")
	}
	sendErr := make(chan error, 1)
	go func() {
		// 1 MiB writes: each one crosses dockerd and the shim's pipe.
		_, err := io.CopyBuffer(struct{ io.Writer }{hj.Conn}, struct{ io.Reader }{in}, make([]byte, 1<<20))
		if cerr := hj.CloseWrite(); err == nil {
			err = cerr
		}
		sendErr <- err
	}()
	// Whatever happens, the sender must be done with in before returning:
	// the caller goes on to read or close it.
	sent := false
	defer func() {
		if !sent {
			hj.Close()
			<-sendErr //nolint:errcheck // the helper's own error is the one to report
		}
	}()
	var stdout, stderr limitedBuffer
	_, recvErr := stdcopy.StdCopy(&stdout, &stderr, hj.Reader)
	var code int64
	select {
	case r := <-waitC:
		code = r.StatusCode
		if r.Error != nil {
			recvErr = errors.Join(recvErr, errors.New(r.Error.Message))
		}
	case err := <-waitErr:
		return nil, h.e.Wrap(err, "wait for helper container")
	}
	if code != 0 {
		// The helper is zuulstate: its one error line already says it all.
		msg := strings.TrimPrefix(strings.TrimSpace(stderr.String()), "zuulstate: error: ")
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", code)
		}
		return nil, fmt.Errorf("helper container: %s", msg)
	}
	// The helper exited 0, so it read the whole archive: a send error now
	// can only be the close of a connection it no longer needed.
	sent = true
	if err := <-sendErr; err != nil && recvErr != nil {
		return nil, h.e.Wrap(err, "stream to helper container")
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first maxOutput bytes and drops the rest.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
