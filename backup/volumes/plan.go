package volumes

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// partName is the volume's name (Docker allows only characters that part
// names allow), or "bind.<path with / as _>" for a bind path.
func partName(it *item) string {
	if it.kind == volumespart.KindVolume {
		return it.vol.Name
	}
	var b strings.Builder
	b.WriteString("bind.")
	for _, r := range strings.Trim(it.path, "/") {
		switch {
		case r == '/':
			b.WriteByte('_')
		case r < 0x80 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// uniqueName makes name valid and unused: over-long names are cut and
// given a hash of the whole, clashes get a number.
func uniqueName(name string, used map[string]bool) string {
	if len(name) > 120 {
		sum := sha256.Sum256([]byte(name))
		name = name[:110] + "-" + hex.EncodeToString(sum[:4])
	}
	if !snapshot.ValidName(name) {
		name = "v" + name
	}
	out := name
	for i := 2; used[out]; i++ {
		out = name + "-" + strconv.Itoa(i)
	}
	used[out] = true
	return out
}

// group is a set of items copied under one stop of their containers.
type group struct {
	items []*item
	stop  []ref
}

// groupItems puts cold items that share a container into one group, so
// each container is stopped and started once per run; hot items are
// groups of their own. Order follows the configuration.
func groupItems(items []*item) []*group {
	var out []*group
	for _, it := range items {
		var into *group
		for i := 0; i < len(out); i++ {
			g := out[i]
			if !shares(g.stop, it.toStop) {
				continue
			}
			if into == nil {
				into = g
				continue
			}
			// it links two groups: merge g into the first one.
			into.items = append(into.items, g.items...)
			into.stop = union(into.stop, g.stop)
			out = slices.Delete(out, i, i+1)
			i--
		}
		if into == nil {
			into = &group{}
			out = append(out, into)
		}
		into.items = append(into.items, it)
		into.stop = union(into.stop, it.toStop)
	}
	return out
}

func shares(a, b []ref) bool {
	for _, r := range a {
		if slices.Contains(b, r) {
			return true
		}
	}
	return false
}

func union(a, b []ref) []ref {
	for _, r := range b {
		if !slices.Contains(a, r) {
			a = append(a, r)
		}
	}
	return a
}

// chooseWay decides direct or API. The direct way needs the engine on
// this machine, a volume whose mountpoint holds its data (the local
// driver without options: others mount only while a container uses
// them), and a readable directory.
func (s *Snapshotter) chooseWay(eng *engine.Engine, it *item) error {
	mode := it.mode
	if mode == "" {
		mode = s.cfg.Mode
	}
	why := directBlocker(eng, it)
	switch {
	case mode == volumespart.ModeAPI:
		it.way = volumespart.WayAPI
	case why == nil:
		it.way = volumespart.WayDirect
	case mode == volumespart.ModeDirect:
		return fmt.Errorf("%s %s: mode direct: %w (use mode api or auto)", it.kind, it.name(), why)
	default:
		s.cfg.Log.Info("using the engine API", "part", it.part, "reason", why.Error())
		it.way = volumespart.WayAPI
	}
	if it.way == volumespart.WayAPI {
		it.lost = volumespart.LostByAPI
	}
	return nil
}

// directBlocker says why the direct way is impossible, or nil.
func directBlocker(eng *engine.Engine, it *item) error {
	switch {
	case !eng.Local():
		return fmt.Errorf("the engine at %s is not on this machine", eng.Host)
	case it.kind == volumespart.KindVolume && (it.vol.Driver != "local" || len(it.vol.Options) > 0):
		return errors.New("the volume is mounted by its driver only while a container uses it")
	}
	d, err := os.Open(it.path)
	if err == nil {
		_, err = d.Readdirnames(1)
		d.Close()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot read %s here: %w", it.path, err)
	}
	return nil
}

// meta is the manifest record of a copied item.
func (it *item) meta(eng *engine.Engine, stats dirtar.WriteStats, stopped []volumespart.StopMeta) volumespart.Meta {
	m := volumespart.Meta{
		Kind: it.kind, Mounts: it.mounts, Way: it.way, Lost: it.lost, Exclude: it.exclude,
		Copy: it.copyKind(), Stopped: stopped, Stats: stats, Engine: eng.Version,
	}
	if it.copyKind() == volumespart.CopyHot {
		m.Writers = it.writers
	}
	if it.kind == volumespart.KindVolume {
		m.Volume = &volumespart.VolumeMeta{Name: it.vol.Name, Driver: it.vol.Driver, DriverOpts: it.vol.Options, Labels: it.vol.Labels}
	} else {
		m.Path = it.path
	}
	return m
}
