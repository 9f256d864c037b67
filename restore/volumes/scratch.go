package volumes

import (
	"context"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// newVolume is how create makes t's volume: as recorded, or with
// PlainVolumes with the local driver and nothing else.
func (r *Restorer) newVolume(t *target) volumespart.VolumeMeta {
	m := *t.meta.Volume
	if r.cfg.PlainVolumes {
		m.Driver, m.DriverOpts, m.Labels = "local", nil, nil
	}
	return m
}

// Targets lists what parts restore into, from their metadata: the named
// volumes (by source name) and the bind paths.
func Targets(parts []snapshot.Part) (volumes, binds []string, err error) {
	for _, p := range parts {
		m, err := partMeta(p)
		if err != nil {
			return nil, nil, err
		}
		if m.Kind == volumespart.KindVolume {
			volumes = append(volumes, m.Volume.Name)
		} else {
			binds = append(binds, m.Path)
		}
	}
	return volumes, binds, nil
}

// LocalEngine reports whether the target engine runs on this machine, so
// that the bind paths it creates are this machine's.
func (r *Restorer) LocalEngine(ctx context.Context) (bool, string, error) {
	eng, err := r.engine(ctx)
	if err != nil {
		return false, "", err
	}
	return eng.Local(), eng.Host, nil
}

// ExistingVolumes returns those of names that exist on the engine.
func (r *Restorer) ExistingVolumes(ctx context.Context, names []string) ([]string, error) {
	eng, err := r.engine(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		_, err := eng.API.VolumeInspect(ctx, name)
		switch {
		case engine.IsNotFound(err):
		case err != nil:
			return nil, eng.Wrap(err, "inspect volume "+name)
		default:
			out = append(out, name)
		}
	}
	return out, nil
}

// RemoveVolume removes volume name if it exists. Only a restore drill
// calls it, for its own scratch volumes, after its helpers are gone.
func (r *Restorer) RemoveVolume(ctx context.Context, name string) error {
	eng, err := r.engine(ctx)
	if err != nil {
		return err
	}
	if err := eng.API.VolumeRemove(ctx, name, true); err != nil && !engine.IsNotFound(err) {
		return eng.Wrap(err, "remove volume "+name)
	}
	return nil
}
