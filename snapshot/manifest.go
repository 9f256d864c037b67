package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrCorrupt marks data that does not match what the manifest promises: a
// manifest that does not parse or validate, or a part whose checksum or size
// differs. The CLI maps it to its own exit code.
var ErrCorrupt = errors.New("integrity check failed")

// Manifest describes one complete snapshot. It is written last; a snapshot
// exists if and only if its manifest exists.
type Manifest struct {
	Format      int       `json:"format"`
	ID          string    `json:"id"`
	ToolVersion string    `json:"tool_version"`
	Host        string    `json:"host"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Tags        []string  `json:"tags,omitempty"`
	Parts       []Part    `json:"parts"`
}

// Part describes one stored stream: one item of one source.
type Part struct {
	Source       string          `json:"source"`
	Name         string          `json:"name"`
	Key          string          `json:"key"`
	RawSize      int64           `json:"raw_size"`
	RawSHA256    string          `json:"raw_sha256"`
	StoredSize   int64           `json:"stored_size"`
	StoredSHA256 string          `json:"stored_sha256"`
	Compression  string          `json:"compression"`
	Encryption   string          `json:"encryption,omitempty"`
	Recipients   []string        `json:"recipients,omitempty"`
	Meta         json.RawMessage `json:"meta,omitempty"`
}

// Compression and encryption names recorded in parts.
const (
	CompressionZstd = "zstd"
	EncryptionAge   = "age"
)

// RawBytes is the sum of all parts' raw sizes.
func (m *Manifest) RawBytes() (n int64) {
	for _, p := range m.Parts {
		n += p.RawSize
	}
	return n
}

// StoredBytes is the sum of all parts' stored sizes.
func (m *Manifest) StoredBytes() (n int64) {
	for _, p := range m.Parts {
		n += p.StoredSize
	}
	return n
}

// Encode renders the manifest as indented JSON, readable by an operator.
func (m *Manifest) Encode() ([]byte, error) {
	return json.MarshalIndent(m, "", "  ")
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DecodeManifest parses and validates a manifest read from key id's object.
// Every failure wraps ErrCorrupt except a newer format version, which asks
// for a newer zuulstate instead.
func DecodeManifest(id string, data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest of snapshot %s: %w: %w", id, ErrCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("manifest of snapshot %s: %w: trailing data after JSON", id, ErrCorrupt)
	}
	if m.Format > FormatVersion {
		return nil, fmt.Errorf("snapshot %s uses format %d; this zuulstate reads up to %d: upgrade zuulstate", id, m.Format, FormatVersion)
	}
	if err := m.validate(id); err != nil {
		return nil, fmt.Errorf("manifest of snapshot %s: %w: %w", id, ErrCorrupt, err)
	}
	return &m, nil
}

func (m *Manifest) validate(id string) error {
	switch {
	case m.Format < 1:
		return fmt.Errorf("missing format version")
	case m.ID != id:
		return fmt.Errorf("manifest names snapshot %q", m.ID)
	case m.Start.IsZero() || m.End.Before(m.Start):
		return fmt.Errorf("start/end times missing or reversed")
	}
	seen := map[string]bool{}
	for i, p := range m.Parts {
		switch {
		case !ValidName(p.Source) || !ValidName(p.Name):
			return fmt.Errorf("part %d has an invalid source or name", i)
		case p.Key != PartKey(id, p.Source, p.Name, p.Encryption != ""):
			return fmt.Errorf("part %s/%s has unexpected key %q", p.Source, p.Name, p.Key)
		case seen[p.Key]:
			return fmt.Errorf("part %s/%s appears twice", p.Source, p.Name)
		case !hexSHA256.MatchString(p.RawSHA256) || !hexSHA256.MatchString(p.StoredSHA256):
			return fmt.Errorf("part %s/%s has a malformed checksum", p.Source, p.Name)
		case p.RawSize < 0 || p.StoredSize < 0:
			return fmt.Errorf("part %s/%s has a negative size", p.Source, p.Name)
		case p.Compression != CompressionZstd:
			return fmt.Errorf("part %s/%s uses unknown compression %q", p.Source, p.Name, p.Compression)
		case p.Encryption != "" && p.Encryption != EncryptionAge:
			return fmt.Errorf("part %s/%s uses unknown encryption %q", p.Source, p.Name, p.Encryption)
		}
		seen[p.Key] = true
	}
	return nil
}
