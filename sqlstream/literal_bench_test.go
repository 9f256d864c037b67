package sqlstream

import (
	"strings"
	"testing"
)

// BenchmarkAppendString quotes the values of a Zuul database dump: short
// names, URLs and JSON without a byte to escape, and build-log-like text
// with a few per line.
func BenchmarkAppendString(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"rows", "openstack-tox-py312|SUCCESS|https://2a2.ord1.zuul.opendev.org/logs/963/804735/15/tag/openstack-tox-py312/9637065/|" +
			`{"type": "zuul_manifest", "metadata": {"index_links": true, "name": "Docs preview site"}}|ubuntu-jammy|refs/changes/35/804735/15`},
		{"escapes", "https://zuul.example.org/logs/963/804735/15/check/tox-py312/9637065/ it's ok\n"},
	} {
		values := [][]byte{}
		for v := range strings.SplitSeq(strings.Repeat(bc.text+"|", 64), "|") {
			values = append(values, []byte(v))
		}
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, v := range values {
				n += len(v)
			}
			b.SetBytes(int64(n))
			var dst []byte
			for b.Loop() {
				dst = dst[:0]
				for _, v := range values {
					dst = AppendString(dst, v)
				}
			}
		})
	}
}
