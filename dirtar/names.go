package dirtar

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// cleanName validates an archive entry name (or hardlink target) and returns
// it cleaned, "." meaning the target directory itself. The checks run on the
// raw name before any filesystem work, because path.Clean alone would turn
// "a/../../x" into "../x" or "/abs" into a harmless-looking name and hide
// that the archive was crafted.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", unsafeName(name, "empty name")
	case strings.IndexByte(name, 0) >= 0:
		return "", unsafeName(name, "NUL byte")
	case strings.HasPrefix(name, "/"):
		return "", unsafeName(name, "absolute name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", unsafeName(name, `".." component`)
		}
	}
	c := path.Clean(name)
	if c == "" || c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") {
		// Unreachable after the checks above; kept so a future edit
		// of those checks cannot silently open an escape.
		return "", unsafeName(name, "escapes target")
	}
	return c, nil
}

// unsafeName builds the ErrUnsafePath error. Names come from untrusted
// archives and may hold newlines or escape sequences, hence %q.
func unsafeName(name, why string) error {
	return fmt.Errorf("%w: %q: %s", ErrUnsafePath, name, why)
}

// splitName returns the parent directory and base name of a cleaned,
// non-root name.
func splitName(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

// within reports whether name is dir or lies below it (both cleaned).
func within(dir, name string) bool {
	return dir == "." || dir == name || strings.HasPrefix(name, dir+"/")
}

// excluder holds validated exclude globs.
type excluder []string

func newExcluder(globs []string) (excluder, error) {
	for _, g := range globs {
		// path.Match reports a malformed pattern for any input, so an
		// empty name is enough to validate it up front rather than
		// failing halfway through a backup.
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("dirtar: exclude pattern %q: %w", g, err)
		}
	}
	return excluder(globs), nil
}

// match reports whether rel (slash path relative to the root) or its base
// name matches any glob. Patterns were validated, so errors cannot occur.
func (e excluder) match(rel, base string) bool {
	for _, g := range e {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
		if ok, _ := path.Match(g, base); ok {
			return true
		}
	}
	return false
}

// ctxCheckBytes is how much data flows between context checks during a
// copy: often enough to stop a multi-GiB file promptly, rarely enough to
// cost nothing.
const ctxCheckBytes = 4 << 20

// ctxReader makes a long copy cancellable.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	left int
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
		c.left = ctxCheckBytes
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

// Excluded reports whether WriteOptions.Exclude globs would skip the entry
// at slash path rel (relative to the root): a glob matches rel, its base
// name, or one of its parent directories. Other tar producers (the engine
// API) use it to apply the same excludes to their streams. Malformed
// globs match nothing; Write reports them.
func Excluded(globs []string, rel string) bool {
	ex := excluder(globs)
	for p := rel; p != "." && p != "" && p != "/"; p = path.Dir(p) {
		if ex.match(p, path.Base(p)) {
			return true
		}
	}
	return false
}
