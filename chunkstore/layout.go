package chunkstore

import (
	"encoding/hex"
	"regexp"
)

// Keys of the objects format 3 adds to a repository (docs/FORMAT.md).
// Packs, indexes and chunk lists are named by the sha256 of their bytes,
// so each proves itself and two writers never collide on a name.
const (
	ConfigKey   = "repo.json"
	KeyPrefix   = "keys/"
	PackPrefix  = "packs/"
	IndexPrefix = "index/"
)

var (
	packKeyPattern  = regexp.MustCompile(`^packs/[0-9a-f]{2}/([0-9a-f]{64})\.pack$`)
	indexKeyPattern = regexp.MustCompile(`^index/([0-9a-f]{64})\.zst$`)
)

// PackKey is the key of the pack whose bytes hash to sum.
func PackKey(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return PackPrefix + h[:2] + "/" + h + ".pack"
}

// ValidPackKey reports whether key has the shape of a pack key.
func ValidPackKey(key string) bool { return packKeyPattern.MatchString(key) }

// IndexKey is the key of the index object whose bytes hash to sum.
func IndexKey(sum [32]byte) string { return IndexPrefix + hex.EncodeToString(sum[:]) + ".zst" }

// nameSum returns the sha256 that a pack or index key names.
func nameSum(key string) (string, bool) {
	for _, p := range []*regexp.Regexp{packKeyPattern, indexKeyPattern} {
		if m := p.FindStringSubmatch(key); m != nil {
			return m[1], true
		}
	}
	return "", false
}
