package volumes

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/internal/units"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

const cleanupTimeout = 2 * time.Minute

// verify compares what was extracted with what the backup recorded and
// returns the line to print; the error says what differs.
func verify(p snapshot.Part, t *target, got dirtar.ExtractStats) (string, error) {
	w := t.meta.Stats
	line := fmt.Sprintf("restored %s/%s into %s %s (%s way): %d files, %d dirs, %d symlinks, %d hardlinks, %s",
		p.Source, p.Name, t.kind, t.name(), t.way, got.Files, got.Dirs, got.Symlinks, got.Hardlinks, units.Bytes(got.Bytes))
	// Devices are skipped by a restore that is not root: they count as
	// found (with a note) rather than as a difference.
	type pair struct {
		what      string
		want, got int64
	}
	checks := []pair{
		{"files", w.Files, got.Files}, {"directories", w.Dirs, got.Dirs},
		{"symlinks", w.Symlinks, got.Symlinks}, {"hardlinks", w.Hardlinks, got.Hardlinks},
		{"fifos and devices", w.Other, got.Other + got.Skipped}, {"bytes", w.Bytes, got.Bytes},
	}
	var diffs []string
	for _, c := range checks {
		if c.want != c.got {
			diffs = append(diffs, fmt.Sprintf("%s %d, expected %d", c.what, c.got, c.want))
		}
	}
	if got.Skipped > 0 {
		line += fmt.Sprintf(" (%d device nodes not created: not root)", got.Skipped)
	}
	if len(diffs) > 0 {
		return line + " — MISMATCH", fmt.Errorf("part %s: restored content does not match the snapshot: %s", p.Name, strings.Join(diffs, ", "))
	}
	return line + fmt.Sprintf(" — matches the snapshot (%d files, %s expected)", w.Files, units.Bytes(w.Bytes)), nil
}

// Plan describes in human lines what Restore would do with parts, from
// what Check found; for --dry-run.
func (r *Restorer) Plan(parts []snapshot.Part) []string {
	var out []string
	for _, p := range parts {
		t := r.targets[p.Name]
		if t == nil {
			continue
		}
		var b strings.Builder
		switch {
		case t.kind == volumespart.KindVolume && !t.exists:
			m := r.newVolume(t)
			fmt.Fprintf(&b, "create volume %s (driver %s%s%s)", t.volume, m.Driver, count(", %d driver options", len(m.DriverOpts)), count(", %d labels", len(m.Labels)))
		case t.nonEmpty != "":
			fmt.Fprintf(&b, "replace the content of %s %s (--force; it holds %q)", t.kind, t.name(), t.nonEmpty)
		default:
			fmt.Fprintf(&b, "use empty %s %s", t.kind, t.name())
		}
		if from := sourceName(t); from != t.name() {
			fmt.Fprintf(&b, " from %s", from)
		}
		fmt.Fprintf(&b, ", then extract %s/%s: %d files, %s, the %s way", p.Source, p.Name, t.meta.Stats.Files, units.Bytes(t.meta.Stats.Bytes), t.way)
		if len(t.meta.Lost) > 0 {
			fmt.Fprintf(&b, " (backed up through the engine API, without: %s)", strings.Join(t.meta.Lost, ", "))
		}
		out = append(out, b.String())
		if len(t.meta.Mounts) > 0 {
			out = append(out, "  mounted by: "+mounts(t.meta.Mounts))
		}
	}
	return out
}

func sourceName(t *target) string {
	if t.kind == volumespart.KindVolume {
		return t.meta.Volume.Name
	}
	return t.meta.Path
}

func count(format string, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(format, n)
}

func mounts(ms []volumespart.MountMeta) string {
	var s []string
	for _, m := range ms {
		mode := "ro"
		if m.ReadWrite {
			mode = "rw"
		}
		s = append(s, fmt.Sprintf("%s:%s (%s)", m.Container, m.Destination, mode))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
