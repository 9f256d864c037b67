package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/zuulstate/zuulstate/codec"
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
	// Checksum is the sha256 of the manifest's encoding without this
	// field. Part checksums prove the parts; this proves the manifest, so
	// a flipped bit in a size or a part checksum is found when the
	// manifest is read, before a restore trusts it.
	Checksum string `json:"checksum,omitempty"`
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
	// Chunked is set for parts stored as chunks (format 3): Key is then
	// the part's chunk list, StoredSize and StoredSHA256 describe that
	// list object, and RawSHA256 is empty, since a part that reuses
	// unread files is never hashed whole; each chunk's keyed id proves its
	// bytes instead (docs/FORMAT.md).
	Chunked *Chunked `json:"chunked,omitempty"`
}

// Chunked describes a chunked part.
type Chunked struct {
	// ListSize and ListSHA256 are the chunk list's decoded text.
	ListSize   int64  `json:"list_size"`
	ListSHA256 string `json:"list_sha256"`
	Refs       int64  `json:"refs"`
	// NewChunks and NewBytes are what this snapshot stored for the part;
	// everything else it references was in the repository already.
	NewChunks int64 `json:"new_chunks"`
	NewBytes  int64 `json:"new_bytes"`
	// ReusedFiles and ReusedBytes count archive entries taken unread from
	// this host's previous snapshot of the part.
	ReusedFiles int64 `json:"reused_files,omitempty"`
	ReusedBytes int64 `json:"reused_bytes,omitempty"`
}

// ListPart describes a chunked part's chunk list object as a part of its
// own, for the codec that decodes it.
func (p Part) ListPart() Part {
	l := p
	l.RawSize, l.RawSHA256, l.Encryption, l.Recipients, l.Chunked = p.Chunked.ListSize, p.Chunked.ListSHA256, "", nil, nil
	return l
}

// EncryptionAge is the encryption name recorded in parts.
const EncryptionAge = "age"

func codecErr(name string) error {
	_, err := codec.Lookup(name)
	return err
}

// RawBytes is the sum of all parts' raw sizes.
func (m *Manifest) RawBytes() (n int64) {
	for _, p := range m.Parts {
		n += p.RawSize
	}
	return n
}

// StoredBytes is what the snapshot added to the repository.
func (m *Manifest) StoredBytes() (n int64) {
	for _, p := range m.Parts {
		n += p.AddedBytes()
	}
	return n
}

// AddedBytes is what storing the part added to the repository: the whole
// object of a format 2 part; the chunk list and the new chunks of a
// chunked part (the chunks it shares with earlier snapshots cost nothing).
func (p Part) AddedBytes() int64 {
	if p.Chunked != nil {
		return p.StoredSize + p.Chunked.NewBytes
	}
	return p.StoredSize
}

// Encode renders the manifest as indented JSON, readable by an operator,
// and sets its Checksum.
func (m *Manifest) Encode() ([]byte, error) {
	sum, err := m.sum()
	if err != nil {
		return nil, err
	}
	m.Checksum = sum
	return json.MarshalIndent(m, "", "  ")
}

// sum is the manifest's checksum: the sha256 of its encoding with an empty
// Checksum. Decoding and encoding again gives the same bytes (Meta is
// re-indented, times keep their nanoseconds), so a reader recomputes it
// from the decoded manifest.
func (m *Manifest) sum() (string, error) {
	c := *m
	c.Checksum = ""
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:]), nil
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
	if m.Format == 1 && m.Checksum == "" {
		return &m, nil // written before manifests had a checksum
	}
	if sum, err := m.sum(); err != nil || sum != m.Checksum {
		return nil, fmt.Errorf("manifest of snapshot %s: %w: its checksum does not match its content: the manifest was altered or damaged", id, ErrCorrupt)
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
		case codecErr(p.Compression) != nil:
			return fmt.Errorf("part %s/%s: %w", p.Source, p.Name, codecErr(p.Compression))
		case p.Key != p.wantKey(id):
			return fmt.Errorf("part %s/%s has unexpected key %q", p.Source, p.Name, p.Key)
		case seen[p.Key]:
			return fmt.Errorf("part %s/%s appears twice", p.Source, p.Name)
		case !p.checksumsWellFormed():
			return fmt.Errorf("part %s/%s has a malformed checksum", p.Source, p.Name)
		case p.Chunked != nil && (m.Format < 3 || p.Chunked.ListSize < 0 || p.Chunked.Refs < 0):
			return fmt.Errorf("part %s/%s: chunked part in a format %d manifest, or negative counts", p.Source, p.Name, m.Format)
		case p.RawSize < 0 || p.StoredSize < 0:
			return fmt.Errorf("part %s/%s has a negative size", p.Source, p.Name)
		case p.Encryption != "" && p.Encryption != EncryptionAge:
			return fmt.Errorf("part %s/%s uses unknown encryption %q", p.Source, p.Name, p.Encryption)
		}
		seen[p.Key] = true
	}
	return nil
}

func (p Part) wantKey(id string) string {
	if p.Chunked != nil {
		return ChunkListKey(id, p.Source, p.Name, p.Compression)
	}
	return PartKey(id, p.Source, p.Name, p.Compression, p.Encryption != "")
}

func (p Part) checksumsWellFormed() bool {
	if p.Chunked != nil {
		return p.RawSHA256 == "" && hexSHA256.MatchString(p.StoredSHA256) && hexSHA256.MatchString(p.Chunked.ListSHA256)
	}
	return hexSHA256.MatchString(p.RawSHA256) && hexSHA256.MatchString(p.StoredSHA256)
}

// SameContent reports whether p and q are known to hold the same raw bytes
// from their checksums alone: equal raw sha256 for whole parts, equal chunk
// lists for chunked parts. False means "compare them", not "different".
func (p Part) SameContent(q Part) bool {
	switch {
	case p.RawSize != q.RawSize:
		return false
	case p.Chunked != nil && q.Chunked != nil:
		return p.Chunked.ListSHA256 == q.Chunked.ListSHA256
	case p.Chunked == nil && q.Chunked == nil:
		return p.RawSHA256 == q.RawSHA256
	}
	return false
}
