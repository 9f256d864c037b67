package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
)

// DrillPrefix starts every name a restore drill creates: databases,
// ZooKeeper nodes, Docker volumes and directories. Nothing of Zuul's is
// named so, and a drill never writes to, nor removes, a name without it.
const DrillPrefix = "zuulstate_drill_"

// ScratchName is one place a drill creates on its target and removes
// afterwards. Drills record them before creating them, so that the next
// drill removes what a killed one left.
type ScratchName struct {
	Source string `json:"source"`
	// Kind is database, znode, volume or directory.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Where names the server, engine or machine, for messages.
	Where string `json:"where"`
}

func (n ScratchName) String() string { return n.Kind + " " + n.Name + " on " + n.Where }

// Own reports whether n is a drill's name: the name (its last path element
// for nodes and directories) starts with DrillPrefix.
func (n ScratchName) Own() bool {
	base := n.Name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	return strings.HasPrefix(base, DrillPrefix) && len(base) > len(DrillPrefix)
}

// DrillRequest is what a source's share of a drill is built from.
type DrillRequest struct {
	// Config's restore section is the drill target's (config.ForTarget):
	// a drill takes the target's connections and tuning, never its maps,
	// paths or profile.
	Config *config.Config
	// Prefix starts every scratch name of this drill: DrillPrefix and the
	// snapshot's short id.
	Prefix string
	// Dir is the drill's own directory on this machine (the drill creates
	// and removes it); files and bind paths go below it.
	Dir string
	Log *slog.Logger
	// Out receives the restorers' summary lines.
	Out io.Writer
}

// Scratch is one source's share of a restore drill.
type Scratch interface {
	// Plan builds the restorer that restores parts (the source's parts of
	// the snapshot) into scratch names only, and lists those names from
	// the manifest alone, before anything is created.
	Plan(ctx context.Context, parts []snapshot.Part) (ScratchPlan, error)
	// Existing returns those of names that exist on the target.
	Existing(ctx context.Context, names []ScratchName) ([]ScratchName, error)
	// Remove removes those of names that exist, and nothing else: a name
	// that is not Own is refused.
	Remove(ctx context.Context, names []ScratchName) error
	io.Closer
}

// ScratchPlan is how a drill restores one source's parts.
type ScratchPlan struct {
	Restorer restore.Restorer
	// Destination says where the parts go, for the plan.
	Destination string
	Names       []ScratchName
	// Unloaded are parts the restorer does not load (users and grants,
	// which are server-wide; the zuul-admin keys file): the drill decodes
	// and checks them instead.
	Unloaded []string
}

// ScratchNameFor derives a scratch name from prefix and a source name:
// characters outside [A-Za-z0-9_] and keep become '_', and a name that
// changed or would exceed maxLen bytes gets a hash of the original, so that
// two source names never share a scratch name.
func ScratchNameFor(prefix, name, keep string, maxLen int) string {
	clean := strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(keep, r) {
			return r
		}
		return '_'
	}, name)
	out := prefix + "_" + clean
	if clean == name && len(out) <= maxLen {
		return out
	}
	sum := sha256.Sum256([]byte(name))
	tag := "_" + hex.EncodeToString(sum[:4])
	room := max(maxLen-len(prefix)-1-len(tag), 0)
	if len(clean) > room {
		clean = clean[:room]
	}
	return prefix + "_" + clean + tag
}

// RefuseForeign fails unless every name is a drill's own.
func RefuseForeign(names []ScratchName) error {
	for _, n := range names {
		if !n.Own() {
			return fmt.Errorf("refusing to touch %s: it is not a drill's name (%s…)", n, DrillPrefix)
		}
	}
	return nil
}

// Names lists the names of names.
func Names(names []ScratchName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n.Name
	}
	return out
}

// Pick returns those of names whose Name is in found.
func Pick(names []ScratchName, found []string) []ScratchName {
	var out []ScratchName
	for _, n := range names {
		if slices.Contains(found, n.Name) {
			out = append(out, n)
		}
	}
	return out
}
