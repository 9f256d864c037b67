package snapshot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/zuulstate/zuulstate/codec"
)

// Repository layout. Manifests live apart from parts so that listing
// snapshots reads one small prefix, however many parts each snapshot has.
const (
	ManifestPrefix = "manifests/"
	PartPrefix     = "parts/"
	LockPrefix     = "locks/"
	manifestSuffix = ".json"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether s may be used as a source or part name: it ends up
// in object keys and file names, so it is kept to a portable alphabet.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// CheckName returns an error naming what is wrong with a source or part name.
func CheckName(kind, s string) error {
	if !ValidName(s) {
		return fmt.Errorf("%s name %q is invalid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", kind, s)
	}
	return nil
}

// ManifestKey is the object key of a snapshot's manifest.
func ManifestKey(id string) string { return ManifestPrefix + id + manifestSuffix }

// IDFromManifestKey extracts the snapshot id from a manifest key, or returns
// false for any other object under the manifest prefix.
func IDFromManifestKey(key string) (string, bool) {
	s, ok := strings.CutPrefix(key, ManifestPrefix)
	if !ok {
		return "", false
	}
	s, ok = strings.CutSuffix(s, manifestSuffix)
	if !ok || !ValidID(s) {
		return "", false
	}
	return s, true
}

// PartDir is the key prefix under which all parts of one snapshot live.
func PartDir(id string) string { return PartPrefix + id + "/" }

// PartKey is the object key of one part. The extension says how the stored
// bytes are encoded, so an operator can decode a part by hand (zstd -d, age -d).
func PartKey(id, source, name, compression string, encrypted bool) string {
	ext := ".bin"
	if c, err := codec.Lookup(compression); err == nil {
		ext = c.Ext()
	}
	if encrypted {
		ext += ".age"
	}
	return PartDir(id) + source + "/" + name + ext
}

// IDFromPartKey extracts the snapshot id from a part key.
func IDFromPartKey(key string) (string, bool) {
	s, ok := strings.CutPrefix(key, PartPrefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(s, "/")
	if !ok || !ValidID(id) {
		return "", false
	}
	return id, true
}

// ChunkListKey is the object key of a chunked (format 3) part: its chunk
// list, compressed, in the place a format 2 part keeps its data.
func ChunkListKey(id, source, name, compression string) string {
	ext := ".bin"
	if c, err := codec.Lookup(compression); err == nil {
		ext = c.Ext()
	}
	return PartDir(id) + source + "/" + name + ".chunks" + ext
}
