// Package source defines the Descriptor: what zuulstate knows about one
// source besides the code of its two directions (backup/<name> and
// restore/<name>). Each source's descriptor lives in source/<name>, next to
// what both directions share; job.Sources lists them all, and every list of
// source names, the restore order and the wiring from the configuration
// come from there.
package source

import (
	"errors"
	"io"
	"log/slog"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Descriptor describes one source.
type Descriptor struct {
	// Name is the source name in manifests, --only and --include.
	Name string
	// Section is where the source is configured (sources.<name>).
	Section string
	// RestoreRank orders the sources of a restore, lowest first: files
	// before the database, ZooKeeper last, since a Zuul that sees its
	// keys may start.
	RestoreRank int
	// Wipes says the restorer can delete its targets before writing
	// (--wipe); a restore with --wipe must select one such source.
	Wipes bool
	// Snapshotter builds the backup side from the configuration; it
	// returns nil when the configuration has no section for the source.
	Snapshotter func(cfg *config.Config, log *slog.Logger) (backup.Snapshotter, error)
	// RunsAlone, when set, reports whether a backup with this
	// configuration must run the source alone, after all others: a cold
	// copy stops containers, which must not break another source's dump
	// of the same server.
	RunsAlone func(cfg *config.Config) bool
	// Restorer builds the restore side for one restore.
	Restorer func(r RestoreRequest) (Restorer, error)
	// NextSteps, when set, says what the operator does after parts of the
	// source were restored.
	NextSteps func(restored []snapshot.Part) []Step
	// Drill builds the source's share of a restore drill: its parts
	// restored into scratch names of the drill's own (drill.go).
	Drill func(r DrillRequest) (Scratch, error)
}

// RestoreRequest is what a restorer is built from: the configuration,
// whose restore section is the chosen target's (config.ForTarget), and the
// operator's choices for this restore.
type RestoreRequest struct {
	Config *config.Config
	// Target is the chosen target; nil means the restore section.
	Target *config.Target
	RestoreChoices
	Log *slog.Logger
	// Out receives the restorers' summary lines.
	Out io.Writer
}

// RestoreChoices are the operator's choices for one restore that concern
// single sources (the restore command's flags).
type RestoreChoices struct {
	// Force restores into targets that hold data; Wipe deletes them first.
	Force, Wipe bool
	// PathsDir receives one directory per paths part; Original puts them
	// back where they were taken from. Both unset: the target's paths.
	PathsDir string
	Original bool
	// DatabaseMap replaces the target's db_map when set; VolumeMap and
	// BindMap add to the target's volume_map and bind_map.
	DatabaseMap        map[string]string
	VolumeMap, BindMap map[string]string
	WithGrants         bool
	AllowDevices       bool
}

// Restorer is a built restorer and what the plan says about it.
type Restorer struct {
	restore.Restorer
	// Destination says where the source's parts go: server, engine or
	// directory.
	Destination string
	// Profile is the restore profile the restorer applies, "" when it has
	// none; without a target it is the restore's profile.
	Profile string
}

// Step is one thing to do after a restore. Steps are listed by Order,
// lowest first, whatever the order of the sources they come from, so the
// one without which nothing works (the keystore password) comes first;
// equal texts are listed once.
type Step struct {
	Order int
	Text  string
}

// ErrUsage marks errors in the operator's choices for one run (flags and
// arguments, as opposed to the configuration file); the CLI exits with 2.
var ErrUsage = errors.New("usage error")

// Usage marks err as ErrUsage, keeping its message.
func Usage(err error) error { return usageError{err} }

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

// StepMounts follows a restore of anything containers mount: volumes and
// directories.
var StepMounts = Step{Order: 20, Text: "Check that the compose file (or units) mount the restored volumes and directories; renamed volumes and moved bind paths must be mounted under their new names."}
