package sqlstream

import (
	"strings"
	"testing"
)

// BenchmarkAppendString quotes build-log-like text (a few characters to
// escape per line), the bulk of a Zuul database dump.
func BenchmarkAppendString(b *testing.B) {
	raw := []byte(strings.Repeat("https://zuul.example.org/logs/963/804735/15/check/tox-py312/9637065/ it's ok\n", 64))
	b.SetBytes(int64(len(raw)))
	var dst []byte
	for b.Loop() {
		dst = AppendString(dst[:0], raw)
	}
}
