package crashpoint

import (
	"errors"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
)

func TestParse(t *testing.T) {
	p, err := Parse("after:put:index/:2")
	if err != nil || !p.After || p.Op != "put" || p.Prefix != "index/" || p.N != 2 || p.String() != "after:put:index/:2" {
		t.Fatalf("Parse: %+v %v", p, err)
	}
	for _, bad := range []string{"", "before:put:packs/", "during:put:x:1", "before:get:x:1", "before:put:x:0", "before:put:x:y"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestStore: the n-th matching change triggers the kill, before or after
// it is made; other keys and operations are not counted.
func TestStore(t *testing.T) {
	for _, after := range []bool{false, true} {
		st, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s := Wrap(st, Point{After: after, Op: "put", Prefix: "packs/", N: 2})
		killed := 0
		var atKill []string
		s.Kill = func() {
			killed++
			_ = st.List(t.Context(), "", func(oi storage.ObjectInfo) error { atKill = append(atKill, oi.Key); return nil })
		}
		for _, k := range []string{"index/a", "packs/1", "packs/2", "packs/3"} {
			if err := s.Put(t.Context(), k, strings.NewReader("x")); err != nil && !errors.Is(err, errKilled) {
				t.Fatal(err)
			}
		}
		if err := s.Delete(t.Context(), "packs/1"); err != nil {
			t.Fatal(err)
		}
		want := "index/a packs/1"
		if after {
			want += " packs/2"
		}
		if killed != 1 || strings.Join(atKill, " ") != want {
			t.Errorf("after=%v: killed %d times, objects at the kill: %v, want %s", after, killed, atKill, want)
		}
	}
}
