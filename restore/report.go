package restore

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/zuulstate/zuulstate/snapshot"
)

// WritePlan prints what a restore does, source by source in restore
// order: dest[source] says where the source goes (server, engine,
// directory), then the restorer's own plan for the parts it may restore,
// then every refused part with the reason. It returns the number of
// refused parts.
func WritePlan(w io.Writer, checked []Checked, restorers []Restorer, dest map[string]string) int {
	byName := map[string]Restorer{}
	for _, r := range restorers {
		byName[r.Source()] = r
	}
	refused := 0
	var sources []string
	bySource := map[string][]Checked{}
	for _, c := range checked {
		if bySource[c.Part.Source] == nil {
			sources = append(sources, c.Part.Source)
		}
		bySource[c.Part.Source] = append(bySource[c.Part.Source], c)
	}
	for i, src := range sources {
		line := fmt.Sprintf("%d. %s", i+1, src)
		if d := dest[src]; d != "" {
			line += " → " + d
		}
		fmt.Fprintln(w, line)
		var ok []snapshot.Part
		for _, c := range bySource[src] {
			if c.Err == nil {
				ok = append(ok, c.Part)
			}
		}
		if p, isPlanner := byName[src].(Planner); isPlanner && len(ok) > 0 {
			for _, l := range p.Plan(ok) {
				fmt.Fprintln(w, "   "+l)
			}
		} else {
			for _, p := range ok {
				fmt.Fprintf(w, "   restore %s/%s\n", p.Source, p.Name)
			}
		}
		for _, c := range bySource[src] {
			if c.Err == nil {
				continue
			}
			refused++
			verb := "REFUSED"
			if !errors.Is(c.Err, ErrTargetNotEmpty) {
				verb = "CANNOT CHECK"
			}
			fmt.Fprintf(w, "   %s %s/%s: %v\n", verb, c.Part.Source, c.Part.Name, c.Err)
		}
	}
	return refused
}

// Results gathers the results of every Reporter among restorers, in their
// order.
func Results(restorers []Restorer) []Result {
	var out []Result
	for _, r := range restorers {
		if rep, ok := r.(Reporter); ok {
			out = append(out, rep.Results()...)
		}
	}
	return out
}

// WriteResults prints the verification table and returns the number of
// mismatches.
func WriteResults(w io.Writer, results []Result) (int, error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPART\tWHAT\tEXPECTED\tFOUND\tSTATUS")
	bad := 0
	for _, r := range results {
		found, status := strconv.FormatInt(r.Found, 10), "OK"
		if r.Found < 0 {
			found = "error"
		}
		if !r.OK() {
			status = "MISMATCH"
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Source, r.Part, r.What, r.Expected, found, status)
	}
	return bad, tw.Flush()
}
