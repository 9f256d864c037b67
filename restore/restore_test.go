package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/snapshot"
)

type fakeRestorer struct{ source string }

func (f fakeRestorer) Source() string                                       { return f.source }
func (fakeRestorer) Check(context.Context, snapshot.Part) error             { return nil }
func (fakeRestorer) Restore(context.Context, []snapshot.Part, Opener) error { return nil }

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

// refusing refuses the parts named in full, as a non-empty target would.
type refusing struct {
	fakeRestorer
	full map[string]bool
}

func (r refusing) Check(_ context.Context, p snapshot.Part) error {
	if r.full[p.Name] {
		return fmt.Errorf("%w: %s holds data", ErrTargetNotEmpty, p.Name)
	}
	return nil
}

func (refusing) Plan(parts []snapshot.Part) []string {
	var out []string
	for _, p := range parts {
		out = append(out, "would restore "+p.Name)
	}
	return out
}

func TestInOrder(t *testing.T) {
	var parts []snapshot.Part
	for _, s := range []string{"zookeeper", "other", "mariadb", "paths", "volumes", "mariadb"} {
		parts = append(parts, snapshot.Part{Source: s, Name: fmt.Sprint(len(parts))})
	}
	var got []string
	for _, p := range InOrder(parts, []string{"volumes", "paths", "mariadb", "zookeeper"}) {
		got = append(got, p.Source+p.Name)
	}
	if want := "volumes4,paths3,mariadb2,mariadb5,zookeeper0,other1"; strings.Join(got, ",") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
}

// TestRunChecksEveryPart: every refused part is reported to OnPlan and in
// the error (not only the first), in restore order, before anything is
// read; the plan shows the others with the restorer's own lines.
func TestRunChecksEveryPart(t *testing.T) {
	m := &snapshot.Manifest{ID: "x", Parts: []snapshot.Part{
		{Source: "zookeeper", Name: "tree"}, {Source: "paths", Name: "certs"}, {Source: "paths", Name: "logs"},
	}}
	rs := []Restorer{
		refusing{fakeRestorer{"paths"}, map[string]bool{"logs": true}},
		refusing{fakeRestorer{"zookeeper"}, map[string]bool{"tree": true}},
	}
	var plan bytes.Buffer
	refused := -1
	_, err := Run(t.Context(), nil, m, rs, Options{OnPlan: func(c []Checked) {
		refused = WritePlan(&plan, c, rs, map[string]string{"paths": "directory /srv"})
	}})
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "logs holds data") || !strings.Contains(err.Error(), "tree holds data") {
		t.Fatalf("error %v should name both refused parts", err)
	}
	if refused != 2 {
		t.Errorf("refused %d, want 2", refused)
	}
	want := `1. paths → directory /srv
   would restore certs
   REFUSED paths/logs: restore target is not empty: logs holds data
2. zookeeper
   REFUSED zookeeper/tree: restore target is not empty: tree holds data
`
	if plan.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", plan.String(), want)
	}
	parts, err := Run(t.Context(), nil, m, rs[:1], Options{DryRun: true, Include: []string{"paths/certs"}})
	if err != nil || len(parts) != 1 {
		t.Fatalf("dry run of an accepted part: %v %v", parts, err)
	}
}

func TestWriteResults(t *testing.T) {
	var b bytes.Buffer
	bad, err := WriteResults(&b, []Result{
		{Source: "mariadb", Part: "zuul", What: "rows zuul.zuul_build", Expected: 3, Found: 3},
		{Source: "volumes", Part: "logs", What: "files", Expected: 3, Found: -1},
	})
	if err != nil || bad != 1 {
		t.Fatalf("bad %d, err %v", bad, err)
	}
	for _, want := range []string{"rows zuul.zuul_build  3         3      OK", "error  MISMATCH", "STATUS"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
