// Package unwrap finds a capability on a writer or on the writers it
// wraps: progress counters and other pass-through writers hide the
// repository's part writer, whose record and unit methods the archive
// and SQL writers look for.
package unwrap

import "io"

// maxDepth bounds the walk; wrappers here are a few deep.
const maxDepth = 8

// Find returns w, or the first writer that Unwrap() io.Writer methods
// lead to from w, that is a T.
func Find[T any](w io.Writer) (T, bool) {
	for range maxDepth {
		if t, ok := w.(T); ok {
			return t, true
		}
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	var zero T
	return zero, false
}
