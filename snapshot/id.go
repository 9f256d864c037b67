// Package snapshot defines the on-storage snapshot format: snapshot ids, the
// manifest, where parts and manifests live in the repository, and the streaming
// part codec (sha256 → zstd → age and back). Backup and restore both import it,
// so the format is written down exactly once; docs/FORMAT.md describes it.
package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// FormatVersion is the manifest format this code writes. Readers accept
// manifests up to this version and refuse newer ones with a clear error.
// Version 2 added the manifest's own checksum (version 1 manifests, which
// have none, are still read); version 3 added chunked parts.
const FormatVersion = 3

const idTimeLayout = "20060102T150405Z"

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`)

// NewID returns a new snapshot id: the UTC start time to the second followed
// by 32 random bits, for example 20261125T211304Z-3fa1c2d9. Ids sort by time
// as plain strings, and two hosts starting in the same second do not collide.
func NewID(now time.Time) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return now.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of a snapshot id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// IDTime returns the start time encoded in a snapshot id.
func IDTime(id string) (time.Time, error) {
	if !ValidID(id) {
		return time.Time{}, fmt.Errorf("%q is not a snapshot id (expected e.g. 20261125T211304Z-3fa1c2d9)", id)
	}
	return time.Parse(idTimeLayout, id[:len(idTimeLayout)])
}
