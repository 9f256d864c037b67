package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// item is one part to write: a volume or a bind path, with everything
// decided about it before the first byte is copied.
type item struct {
	part    string
	kind    string
	vol     *volume.Volume
	path    string // volume mountpoint or bind host path
	exclude []string
	stop    bool
	mode    string
	way     string
	lost    []string
	mounts  []volumespart.MountMeta
	toStop  []ref
	writers []string
}

func (it *item) name() string {
	if it.kind == volumespart.KindVolume {
		return it.vol.Name
	}
	return it.path
}

func (it *item) key() string { return it.kind + ":" + it.name() }

func (it *item) copyKind() string {
	if it.stop || len(it.toStop) > 0 {
		return volumespart.CopyCold
	}
	return volumespart.CopyHot
}

// resolve turns the configuration into items, each volume or bind path
// once, and inspects the containers that use them.
func (s *Snapshotter) resolve(ctx context.Context, eng *engine.Engine) ([]*item, error) {
	var items []*item
	byKey := map[string]*item{}
	add := func(it *item) error {
		if old := byKey[it.key()]; old != nil {
			if !slices.Equal(old.exclude, it.exclude) || old.mode != it.mode {
				return fmt.Errorf("%s %s is selected twice with different exclude or mode settings: keep one", it.kind, it.name())
			}
			old.stop = old.stop || it.stop
			return nil
		}
		byKey[it.key()] = it
		items = append(items, it)
		return nil
	}
	for _, sel := range s.cfg.Volumes {
		vols, err := s.volumes(ctx, eng, sel)
		if err != nil {
			return nil, err
		}
		for i := range vols {
			v := &vols[i]
			it := &item{kind: volumespart.KindVolume, vol: v, path: v.Mountpoint, exclude: sel.Exclude, mode: sel.Mode,
				stop: sel.Stop || v.Labels[LabelStop] == "true"}
			if err := add(it); err != nil {
				return nil, err
			}
		}
	}
	for _, sel := range s.cfg.Containers {
		its, err := s.containerItems(ctx, eng, sel)
		if err != nil {
			return nil, err
		}
		for _, it := range its {
			if err := add(it); err != nil {
				return nil, err
			}
		}
	}
	all, err := eng.API.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, eng.Wrap(err, "list containers")
	}
	names := map[string]bool{}
	for _, it := range items {
		it.part = uniqueName(partName(it), names)
		s.users(it, all)
		if err := s.chooseWay(eng, it); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (s *Snapshotter) volumes(ctx context.Context, eng *engine.Engine, sel VolumeSel) ([]volume.Volume, error) {
	if sel.Name != "" {
		v, err := eng.API.VolumeInspect(ctx, sel.Name)
		if engine.IsNotFound(err) {
			return nil, fmt.Errorf("volume %s not found on the engine at %s (docker volume ls lists them; check sources.volumes.volumes)", sel.Name, eng.Host)
		}
		if err != nil {
			return nil, eng.Wrap(err, "inspect volume "+sel.Name)
		}
		return []volume.Volume{v}, nil
	}
	resp, err := eng.API.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", sel.Label))})
	if err != nil {
		return nil, eng.Wrap(err, "list volumes labelled "+sel.Label)
	}
	if len(resp.Volumes) == 0 {
		return nil, fmt.Errorf("no volume carries the label %s on the engine at %s", sel.Label, eng.Host)
	}
	var out []volume.Volume
	for _, v := range resp.Volumes {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b volume.Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// containerItems returns one item per volume or bind mount of a container.
func (s *Snapshotter) containerItems(ctx context.Context, eng *engine.Engine, sel ContainerSel) ([]*item, error) {
	c, err := eng.API.ContainerInspect(ctx, sel.Name)
	if engine.IsNotFound(err) {
		return nil, fmt.Errorf("container %s not found on the engine at %s (docker ps -a lists them; check sources.volumes.containers)", sel.Name, eng.Host)
	}
	if err != nil {
		return nil, eng.Wrap(err, "inspect container "+sel.Name)
	}
	var out []*item
	for _, m := range c.Mounts {
		it := &item{exclude: sel.Exclude, mode: sel.Mode, stop: sel.Stop}
		switch m.Type {
		case mount.TypeVolume:
			v, err := eng.API.VolumeInspect(ctx, m.Name)
			if err != nil {
				return nil, eng.Wrap(err, "inspect volume "+m.Name+" of container "+sel.Name)
			}
			it.kind, it.vol, it.path = volumespart.KindVolume, &v, v.Mountpoint
			it.stop = it.stop || v.Labels[LabelStop] == "true"
		case mount.TypeBind:
			it.kind, it.path = volumespart.KindBind, filepath.Clean(m.Source)
		default:
			continue // tmpfs and others hold nothing that outlives the container
		}
		out = append(out, it)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("container %s has no volumes or bind mounts to back up", sel.Name)
	}
	return out, nil
}

// users records the containers that mount it, which ones run and write
// to it, and which must be stopped for a cold copy.
func (s *Snapshotter) users(it *item, all []container.Summary) {
	self, _ := os.Hostname() // a container's hostname is its short id
	for _, c := range all {
		if c.Labels[engine.LabelHelper] == "true" {
			continue
		}
		name := strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
		running := c.State == "running"
		for _, m := range c.Mounts {
			sub, ok := it.matches(m)
			if !ok {
				continue
			}
			it.mounts = append(it.mounts, volumespart.MountMeta{Container: name, Destination: m.Destination, ReadWrite: m.RW, Sub: sub})
			if !running || (len(self) >= 12 && strings.HasPrefix(c.ID, self)) {
				continue // never stop the container zuulstate runs in
			}
			if m.RW {
				it.writers = appendOnce(it.writers, name)
			}
			if it.stop || c.Labels[LabelStop] == "true" {
				if !slices.ContainsFunc(it.toStop, func(r ref) bool { return r.id == c.ID }) {
					it.toStop = append(it.toStop, ref{id: c.ID, name: name})
				}
			}
		}
	}
}

// matches reports whether a container mount uses the item: the same
// volume, or a bind path equal to, below or above the item's path.
func (it *item) matches(m container.MountPoint) (sub string, ok bool) {
	if it.kind == volumespart.KindVolume {
		return "", m.Type == mount.TypeVolume && m.Name == it.vol.Name
	}
	if m.Type != mount.TypeBind {
		return "", false
	}
	src := filepath.Clean(m.Source)
	switch {
	case src == it.path:
		return "", true
	case strings.HasPrefix(src, it.path+"/"):
		return strings.TrimPrefix(src, it.path+"/"), true
	case strings.HasPrefix(it.path, src+"/"):
		return "", true // the container mounts a parent: it can write here too
	}
	return "", false
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
