package release

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// The example alert rules are valid and each alert fires on the history
// it is about (examples/prometheus/alerts_test.yaml).
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := filepath.Join(repoRoot(t), "examples", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
