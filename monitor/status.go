// Package monitor records how backup runs went and reports it to the
// operator's monitoring: a small status object in the repository (the
// repository itself only knows successful snapshots), Prometheus metrics
// in a node_exporter textfile or a Pushgateway, and the Nagios-style
// check that `zuulstate check` prints.
package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// StatusKey is where the last run is recorded in the repository.
const StatusKey = "status/last-run.json"

// Result values of a run.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Status is the record of the last backup run. It contains no secrets:
// errors never carry credentials, and nothing else here could.
type Status struct {
	Format   int       `json:"format"`
	Host     string    `json:"host,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Result   string    `json:"result"`
	// SnapshotID is the snapshot this run wrote, if it got that far.
	SnapshotID string `json:"snapshot_id,omitempty"`
	Error      string `json:"error,omitempty"`
	// LastSuccess is carried over from earlier runs when this one failed.
	LastSuccess   time.Time      `json:"last_success,omitzero"`
	LastSuccessID string         `json:"last_success_snapshot_id,omitempty"`
	Sources       []SourceStatus `json:"sources,omitempty"`
	ToolVersion   string         `json:"tool_version,omitempty"`
	// Snapshots is the number of snapshots in the repository after the
	// run; -1 when it could not be listed.
	Snapshots int `json:"snapshots_in_repository"`
}

// SourceStatus is one source's share of the run.
type SourceStatus struct {
	Source      string  `json:"source"`
	OK          bool    `json:"ok"`
	Seconds     float64 `json:"duration_seconds"`
	Parts       int     `json:"parts"`
	RawBytes    int64   `json:"raw_bytes"`
	StoredBytes int64   `json:"stored_bytes"`
}

// Succeeded reports whether the run succeeded.
func (s *Status) Succeeded() bool { return s.Result == ResultSuccess }

// ReadStatus loads the last run's status; (nil, nil) when no run was
// recorded yet.
func ReadStatus(ctx context.Context, st storage.Store) (*Status, error) {
	var s Status
	if found, err := readRecord(ctx, st, StatusKey, &s); !found || err != nil {
		return nil, err
	}
	return &s, nil
}

// readRecord decodes the JSON object at key into v; false when there is
// none.
func readRecord(ctx context.Context, st storage.Store, key string, v any) (bool, error) {
	rc, err := st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s in %s is not valid JSON: %w", key, st, err)
	}
	return true, nil
}

// writeRecord stores v as indented JSON at key.
func writeRecord(ctx context.Context, st storage.Store, key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := st.Put(ctx, key, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// WriteStatus records s, carrying the last success over from the previous
// record when s is a failure.
func WriteStatus(ctx context.Context, st storage.Store, s *Status) error {
	s.Format = 1
	if s.Succeeded() {
		s.LastSuccess, s.LastSuccessID = s.Finished, s.SnapshotID
	} else if s.LastSuccess.IsZero() {
		if prev, err := ReadStatus(ctx, st); err == nil && prev != nil {
			s.LastSuccess, s.LastSuccessID = prev.LastSuccess, prev.LastSuccessID
		}
	}
	return writeRecord(ctx, st, StatusKey, s)
}
