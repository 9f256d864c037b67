package volumes

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/volume"
	"golang.org/x/sys/unix"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// target is where one part goes.
type target struct {
	kind   string
	volume string // target volume name
	path   string // bind path, or the volume's mountpoint once it exists
	meta   volumespart.Meta
	exists bool
	way    string
	// nonEmpty names an entry found in the target, "" if it is empty.
	nonEmpty string
}

func (t *target) name() string {
	if t.kind == volumespart.KindVolume {
		return t.volume
	}
	return t.path
}

func partMeta(p snapshot.Part) (volumespart.Meta, error) {
	var m volumespart.Meta
	if err := json.Unmarshal(p.Meta, &m); err != nil {
		return m, fmt.Errorf("%w: part %s has no readable volumes metadata: %w", snapshot.ErrCorrupt, p.Name, err)
	}
	switch {
	case m.Kind == volumespart.KindVolume && m.Volume != nil && m.Volume.Name != "":
	case m.Kind == volumespart.KindBind && filepath.IsAbs(m.Path):
	default:
		return m, fmt.Errorf("%w: part %s: metadata names no volume or bind path", snapshot.ErrCorrupt, p.Name)
	}
	return m, nil
}

// resolve maps the part to its target and looks at the target's state.
func (r *Restorer) resolve(ctx context.Context, eng *engine.Engine, p snapshot.Part) (*target, error) {
	m, err := partMeta(p)
	if err != nil {
		return nil, err
	}
	t := &target{kind: m.Kind, meta: m}
	if m.Kind == volumespart.KindBind {
		t.path = mapPath(m.Path, r.cfg.BindMap)
		_, err := os.Lstat(t.path)
		t.exists = err == nil
	} else {
		t.volume = m.Volume.Name
		if to, ok := r.cfg.VolumeMap[t.volume]; ok {
			t.volume = to
		}
		v, err := eng.API.VolumeInspect(ctx, t.volume)
		switch {
		case engine.IsNotFound(err):
		case err != nil:
			return nil, eng.Wrap(err, "inspect volume "+t.volume)
		default:
			t.exists, t.path = true, v.Mountpoint
			if v.Driver != m.Volume.Driver {
				r.cfg.Log.Warn("the target volume exists with another driver than the backed-up one", "volume", t.volume, "driver", v.Driver, "recorded", m.Volume.Driver)
			}
		}
	}
	if t.way, err = r.chooseWay(eng, t); err != nil {
		return nil, err
	}
	if t.kind == volumespart.KindBind && t.way == volumespart.WayAPI {
		t.exists = true // only the engine can tell; it creates a missing path
	}
	if t.exists {
		if t.nonEmpty, err = r.firstEntry(ctx, eng, t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// mapPath applies the longest matching prefix of bindMap to p.
func mapPath(p string, bindMap map[string]string) string {
	best := ""
	for from := range bindMap {
		f := filepath.Clean(from)
		if (p == f || strings.HasPrefix(p, f+"/") || f == "/") && len(f) > len(best) {
			best = f
		}
	}
	if best == "" {
		return p
	}
	return filepath.Join(bindMap[best], strings.TrimPrefix(p, best))
}

// chooseWay: direct needs a local engine, a plain local volume (others
// are mounted only while a container uses them), and, for an existing
// target, write access here. A volume that does not exist yet is
// expected to be writable when we are root; Restore checks again.
func (r *Restorer) chooseWay(eng *engine.Engine, t *target) (string, error) {
	var why string
	vol := t.meta.Volume
	switch {
	case r.cfg.Mode == volumespart.ModeAPI:
		return volumespart.WayAPI, nil
	case !eng.Local():
		why = "the engine at " + eng.Host + " is not on this machine"
	case t.kind == volumespart.KindVolume && (vol.Driver != "local" || len(vol.DriverOpts) > 0) && (t.exists || !r.cfg.PlainVolumes):
		why = "the volume is mounted by its driver only while a container uses it"
	case t.exists && unix.Access(t.path, unix.W_OK|unix.X_OK) != nil:
		why = "cannot write " + t.path + " here"
	case !t.exists && t.kind == volumespart.KindVolume && os.Geteuid() != 0:
		why = "new volumes are writable only by root"
	}
	switch {
	case why == "":
		return volumespart.WayDirect, nil
	case r.cfg.Mode == volumespart.ModeDirect:
		return "", fmt.Errorf("%s %s: mode direct: %s (use mode api or auto)", t.kind, t.name(), why)
	}
	return volumespart.WayAPI, nil
}

// firstEntry returns the name of an entry in the existing target, or "".
// Leftovers of an interrupted staged restore do not count.
func (r *Restorer) firstEntry(ctx context.Context, eng *engine.Engine, t *target) (string, error) {
	if t.way == volumespart.WayDirect {
		return firstName(t.path)
	}
	img, err := r.image(ctx, eng)
	if err != nil {
		return "", err
	}
	h, err := eng.CreateHelper(ctx, img, mountOf(t), []string{engine.HelperBinaryPath}, false)
	if err != nil {
		return "", err
	}
	defer h.Remove(context.WithoutCancel(ctx)) //nolint:errcheck // a leftover is removed by the next run
	rc, err := h.CopyFrom(ctx, engine.HelperMountPath+"/.")
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("list %s %s: %w", t.kind, t.name(), err)
		}
		n := strings.Trim(strings.TrimPrefix(hdr.Name, "./"), "/")
		if n != "" && n != "." && !strings.HasPrefix(n, dirtar.StagingPrefix) {
			return n, nil
		}
	}
}

// firstName reads dir in small batches until it finds an entry that is
// not a staging leftover.
func firstName(dir string) (string, error) {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check target: %w", err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(64)
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("check target %s: %w", dir, err)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, dirtar.StagingPrefix) {
				return n, nil
			}
		}
	}
}

func mountOf(t *target) engine.Mount {
	if t.kind == volumespart.KindVolume {
		return engine.Mount{Volume: t.volume}
	}
	return engine.Mount{Bind: t.path}
}

// create makes the volume (with the recorded driver, options and labels)
// or the bind path, and settles the way now that the target exists.
func (r *Restorer) create(ctx context.Context, eng *engine.Engine, t *target) error {
	if t.exists {
		return nil
	}
	if t.kind == volumespart.KindBind {
		if t.way == volumespart.WayDirect {
			if err := os.MkdirAll(t.path, 0o755); err != nil {
				return fmt.Errorf("create bind path: %w", err)
			}
		}
		return nil // the engine creates it when the helper mounts it
	}
	m := r.newVolume(t)
	v, err := eng.API.VolumeCreate(ctx, volume.CreateOptions{Name: t.volume, Driver: m.Driver, DriverOpts: m.DriverOpts, Labels: m.Labels})
	if err != nil {
		return eng.Wrap(err, "create volume "+t.volume)
	}
	r.cfg.Log.Info("created volume", "volume", t.volume, "driver", v.Driver)
	t.exists, t.path = true, v.Mountpoint
	if t.way == volumespart.WayDirect && unix.Access(t.path, unix.W_OK|unix.X_OK) != nil {
		if r.cfg.Mode == volumespart.ModeDirect {
			return fmt.Errorf("volume %s: mode direct: cannot write its mountpoint %s here (use mode api or auto)", t.volume, t.path)
		}
		t.way = volumespart.WayAPI
	}
	return nil
}
