package source

import (
	"strings"
	"testing"
)

func TestScratchNameFor(t *testing.T) {
	p := DrillPrefix + "1bbce563"
	for _, c := range []struct{ name, keep, want string }{
		{"zuul", "", p + "_zuul"},
		{"log_server", "-.", p + "_log_server"},
		{"zuul-logs.v2", "-.", p + "_zuul-logs.v2"},
	} {
		if got := ScratchNameFor(p, c.name, c.keep, 64); got != c.want {
			t.Errorf("ScratchNameFor(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	// Changed or long names get a hash, so two names never meet.
	a, b := ScratchNameFor(p, "zuul-a", "", 64), ScratchNameFor(p, "zuul_a", "", 64)
	if a == b || !strings.HasPrefix(a, p+"_zuul_a_") {
		t.Errorf("zuul-a → %q, zuul_a → %q", a, b)
	}
	long := ScratchNameFor(p, strings.Repeat("x", 100), "", 64)
	if len(long) != 64 || long == ScratchNameFor(p, strings.Repeat("x", 101), "", 64) {
		t.Errorf("long name %q (%d bytes)", long, len(long))
	}
	if n := (ScratchName{Name: long}); !n.Own() {
		t.Errorf("%q is not own", long)
	}
}

func TestOwnNames(t *testing.T) {
	for name, own := range map[string]bool{
		DrillPrefix + "1bbce563_zuul":             true,
		"/zuul/" + DrillPrefix + "1bbce563":       true,
		"/var/lib/zuulstate/drill/" + DrillPrefix: false, // the prefix alone
		"zuul":                             false,
		"/" + DrillPrefix + "x/keystorage": false,
		"x" + DrillPrefix + "1":            false,
	} {
		if got := (ScratchName{Name: name}).Own(); got != own {
			t.Errorf("Own(%q) = %v", name, got)
		}
	}
	err := RefuseForeign([]ScratchName{{Name: DrillPrefix + "a"}, {Kind: "database", Name: "zuul", Where: "mariadb x"}})
	if err == nil || !strings.Contains(err.Error(), "database zuul on mariadb x") {
		t.Errorf("RefuseForeign: %v", err)
	}
}
