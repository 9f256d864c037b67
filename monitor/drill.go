package monitor

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zuulstate/zuulstate/storage"
)

// DrillStatusKey is where the last restore drill is recorded.
const DrillStatusKey = "status/last-drill.json"

// DrillStatus is the record of the last restore drill (zuulstate drill).
// Like Status it holds no secrets.
type DrillStatus struct {
	Format   int       `json:"format"`
	Host     string    `json:"host,omitempty"`
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Result   string    `json:"result"`
	// SnapshotID is the snapshot drilled, once resolved; SnapshotEnd is
	// when it was taken.
	SnapshotID  string    `json:"snapshot_id,omitempty"`
	SnapshotEnd time.Time `json:"snapshot_end,omitzero"`
	Error       string    `json:"error,omitempty"`
	// Checks is the verification table: what was found in the scratch
	// places against the manifest.
	Checks []DrillCheck `json:"checks,omitempty"`
	// Scratch lists the places the drill created; Leftovers those of an
	// earlier, killed drill it removed first.
	Scratch   []string `json:"scratch,omitempty"`
	Leftovers []string `json:"leftovers_removed,omitempty"`
	// CleanupError says what could not be removed; the next drill tries
	// again.
	CleanupError string `json:"cleanup_error,omitempty"`
	// LastSuccess is carried over from earlier drills when this one failed.
	LastSuccess           time.Time `json:"last_success,omitzero"`
	LastSuccessSnapshotID string    `json:"last_success_snapshot_id,omitempty"`
	ToolVersion           string    `json:"tool_version,omitempty"`
}

// DrillCheck is one row of the verification table.
type DrillCheck struct {
	Source   string `json:"source"`
	Part     string `json:"part"`
	What     string `json:"what"`
	Expected int64  `json:"expected"`
	Found    int64  `json:"found"`
}

// Succeeded reports whether the drill succeeded.
func (s *DrillStatus) Succeeded() bool { return s.Result == ResultSuccess }

// ReadDrillStatus loads the last drill's record; (nil, nil) when no drill
// was recorded yet.
func ReadDrillStatus(ctx context.Context, st storage.Store) (*DrillStatus, error) {
	var s DrillStatus
	if found, err := readRecord(ctx, st, DrillStatusKey, &s); !found || err != nil {
		return nil, err
	}
	return &s, nil
}

// WriteDrillStatus records s, carrying the last success over from the
// previous record when s is a failure.
func WriteDrillStatus(ctx context.Context, st storage.Store, s *DrillStatus) error {
	s.Format = 1
	if s.Succeeded() {
		s.LastSuccess, s.LastSuccessSnapshotID = s.Finished, s.SnapshotID
	} else if s.LastSuccess.IsZero() {
		if prev, err := ReadDrillStatus(ctx, st); err == nil && prev != nil {
			s.LastSuccess, s.LastSuccessSnapshotID = prev.LastSuccess, prev.LastSuccessSnapshotID
		}
	}
	return writeRecord(ctx, st, DrillStatusKey, s)
}

// DrillRegistry turns a drill's record into Prometheus metrics, apart from
// the backup's (DrillTextfile, DrillOperation): each kind of run replaces
// only its own.
func DrillRegistry(s *DrillStatus) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("zuulstate_drill_last_attempt_timestamp_seconds", "When the last restore drill finished, successful or not (Unix time).", unix(s.Finished))
	ok, mismatches := 0.0, 0.0
	if s.Succeeded() {
		ok = 1
	}
	for _, c := range s.Checks {
		if c.Expected != c.Found {
			mismatches++
		}
	}
	gauge("zuulstate_drill_last_success", "1 if the last restore drill succeeded, 0 if it failed.", ok)
	gauge("zuulstate_drill_duration_seconds", "How long the last restore drill took.", s.Finished.Sub(s.Started).Seconds())
	gauge("zuulstate_drill_checks", "Rows of the last drill's verification table.", float64(len(s.Checks)))
	gauge("zuulstate_drill_mismatches", "Rows of the last drill's verification table that did not match the manifest.", mismatches)
	if !s.SnapshotEnd.IsZero() {
		gauge("zuulstate_drill_snapshot_timestamp_seconds", "When the snapshot the last drill restored was taken (Unix time).", unix(s.SnapshotEnd))
	}
	if !s.LastSuccess.IsZero() {
		gauge("zuulstate_drill_last_success_timestamp_seconds", "When the last successful restore drill finished (Unix time).", unix(s.LastSuccess))
	}
	return reg
}

// DrillOperation is the Pushgateway grouping label value (operation) of a
// drill's metrics, so that pushing them does not replace the backup's.
const DrillOperation = "drill"

// DrillTextfile is the textfile a drill writes its metrics to, next to
// the backup's (metrics.textfile), so neither overwrites the other:
// zuulstate.prom gives zuulstate_drill.prom.
func DrillTextfile(backupTextfile string) string {
	return strings.TrimSuffix(backupTextfile, ".prom") + "_drill.prom"
}
