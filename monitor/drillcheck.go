package monitor

import (
	"fmt"
	"time"
)

// drillVerdict judges the last restore drill for Check: CRITICAL when no
// drill is recorded, none succeeded, or the last success is older than
// MaxDrillAge; WARNING when the last drill failed after a recent enough
// success. It returns the state, the message and the perfdata.
func drillVerdict(s *DrillStatus, repo string, o CheckOptions) (int, string, string) {
	limit := roundDays(o.MaxDrillAge)
	if s == nil {
		return Critical, "no restore drill recorded in " + repo + " (run zuulstate drill --target NAME)", "drill_age=U;;;0"
	}
	failed := ""
	if !s.Succeeded() {
		failed = fmt.Sprintf("; the last drill at %s failed: %s", s.Finished.UTC().Format(time.RFC3339), s.Error)
	}
	if s.LastSuccess.IsZero() {
		return Critical, "no restore drill has succeeded" + failed, "drill_age=U;;;0"
	}
	age := o.Now.Sub(s.LastSuccess)
	perf := fmt.Sprintf("drill_age=%ds;;%d;0", int64(age.Seconds()), int64(o.MaxDrillAge.Seconds()))
	msg := fmt.Sprintf("last successful restore drill (snapshot %s) is %s old", s.LastSuccessSnapshotID, roundDays(age))
	switch {
	case age > o.MaxDrillAge:
		return Critical, msg + " (max " + limit + ")" + failed, perf
	case failed != "":
		return Warning, msg + failed, perf
	}
	return OK, msg, perf
}

// roundDays prints ages of two days and more in days (9d), as drills run
// weekly; shorter ones as roundAge does.
func roundDays(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int64(d/(24*time.Hour)))
	}
	return roundAge(d)
}
