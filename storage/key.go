package storage

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey marks a key that no backend accepts.
var ErrInvalidKey = errors.New("invalid key")

// CheckKey applies the key rules every backend shares, so a repository can
// move between backends: no empty or absolute keys, no "." or ".." segments,
// no empty segments (a trailing "/" is a folder marker to S3 tools), and no
// backslashes (a separator on Windows). The local backend needs the rules to
// stay inside its root; S3 would accept such keys, but then they would not
// map back to files.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if strings.Contains(key, `\`) {
		return fmt.Errorf("%w %q: contains a backslash", ErrInvalidKey, key)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w %q: absolute", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w %q: %q segment", ErrInvalidKey, key, seg)
		}
	}
	return nil
}
