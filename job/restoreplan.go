package job

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

func planTitle(m *snapshot.Manifest, target, profile string, dry bool) string {
	where := "the restore section of the configuration"
	if target != "" {
		where = "target " + target
	}
	verb := "Plan"
	if dry {
		verb = "Plan (dry run)"
	}
	return fmt.Sprintf("%s: restore snapshot %s (host %s, %s) into %s, profile %s",
		verb, m.ID, m.Host, m.End.UTC().Format("2006-01-02 15:04 UTC"), where, profile)
}

// devSteps follow a restore into a dev instance: the instance must not act
// on prod's code review or clouds. The second applies only when ZooKeeper
// was restored.
var devSteps = []source.Step{
	{Order: 40, Text: "This is a dev instance: before starting it, disable the pipelines' triggers and reporters (or point the connections at a test code review system), or it comments on, votes on and merges real changes."},
	{Order: 41, Text: "Of ZooKeeper only the project keys (/keystorage, /keystorage-oidc) and what the target includes were restored: the dev Zuul creates its own system id and runtime state; give its Nodepool its own cloud credentials or providers so it never sees prod's servers and images."},
}

// nextSteps is what an operator does after the restore, for what was
// restored.
func (s *restoreSetup) nextSteps(restored []snapshot.Part) []string {
	var steps []source.Step
	for _, d := range inRestoreOrder() {
		parts := slices.DeleteFunc(slices.Clone(restored), func(p snapshot.Part) bool { return p.Source != d.Name })
		if len(parts) > 0 && d.NextSteps != nil {
			steps = append(steps, d.NextSteps(parts)...)
		}
	}
	if s.profile == config.ProfileDev || s.dev {
		steps = append(steps, devSteps[0])
		if slices.ContainsFunc(restored, func(p snapshot.Part) bool { return p.Source == "zookeeper" }) {
			steps = append(steps, devSteps[1])
		}
	}
	slices.SortStableFunc(steps, func(a, b source.Step) int { return cmp.Compare(a.Order, b.Order) })
	var out []string
	for _, st := range steps {
		if !slices.Contains(out, st.Text) {
			out = append(out, st.Text)
		}
	}
	return out
}
