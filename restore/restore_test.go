package restore

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/snapshot"
)

type fakeRestorer struct{ source string }

func (f fakeRestorer) Source() string                                        { return f.source }
func (fakeRestorer) Check(context.Context, snapshot.Part) error              { return nil }
func (fakeRestorer) Restore(context.Context, snapshot.Part, io.Reader) error { return nil }

func TestSelect(t *testing.T) {
	m := &snapshot.Manifest{ID: "x", Parts: []snapshot.Part{
		{Source: "paths", Name: "certs"}, {Source: "paths", Name: "logs"}, {Source: "mariadb", Name: "zuul"},
	}}
	rs := map[string]Restorer{"paths": fakeRestorer{"paths"}}
	names := func(ps []snapshot.Part) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Source+"/"+p.Name)
		}
		return strings.Join(out, ",")
	}
	got, err := Select(m, rs, nil)
	if err != nil || names(got) != "paths/certs,paths/logs" {
		t.Fatalf("all: %s %v", names(got), err)
	}
	got, err = Select(m, rs, []string{"paths/logs"})
	if err != nil || names(got) != "paths/logs" {
		t.Fatalf("one part: %s %v", names(got), err)
	}
	if _, err := Select(m, rs, []string{"paths/nope"}); err == nil || !strings.Contains(err.Error(), "paths/certs") {
		t.Fatalf("unknown part should list the parts: %v", err)
	}
	if _, err := Select(m, rs, []string{"mariadb"}); err == nil || !strings.Contains(err.Error(), "no restorer") {
		t.Fatalf("part without restorer: %v", err)
	}
}
