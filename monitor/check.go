package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Nagios plugin states; `zuulstate check` exits with them.
const (
	OK       = 0
	Warning  = 1
	Critical = 2
	Unknown  = 3
)

var stateNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// CheckResult is the verdict of Check.
type CheckResult struct {
	State   int
	Message string
	// Perfdata is Nagios performance data (after the '|').
	Perfdata string
}

// Line is the one line a Nagios plugin prints.
func (r CheckResult) Line() string {
	l := "ZUULSTATE " + stateNames[r.State] + " - " + r.Message
	if r.Perfdata != "" {
		l += " | " + r.Perfdata
	}
	return l
}

// CheckOptions configure Check.
type CheckOptions struct {
	MaxAge  time.Duration // CRITICAL beyond this
	WarnAge time.Duration // WARNING beyond this (0: no warning threshold)
	// MaxDrillAge, when set, also checks the last restore drill: CRITICAL
	// when the last successful one is older (drillcheck.go).
	MaxDrillAge time.Duration
	Now         time.Time
}

// Check looks for the newest verified snapshot (manifest present and every
// part present with its recorded size) and at the last recorded run. It is
// CRITICAL when there is no verified snapshot, when the newest is older
// than MaxAge, or when the last run failed; WARNING when it is older than
// WarnAge or newer snapshots fail verification; UNKNOWN when the
// repository cannot be read.
func Check(ctx context.Context, repo *repository.Repository, o CheckOptions) CheckResult {
	unknown := func(err error) CheckResult {
		return CheckResult{State: Unknown, Message: "cannot read the repository " + repo.String() + ": " + oneLine(err)}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	status, err := ReadStatus(ctx, repo.Store())
	if err != nil {
		return unknown(err)
	}
	ids, err := repo.IDs(ctx)
	if err != nil {
		return unknown(err)
	}
	var newest *snapshot.Manifest
	var broken []string
	for i := len(ids) - 1; i >= 0 && newest == nil; i-- {
		m, err := repo.Manifest(ctx, ids[i])
		if err == nil {
			_, err = repo.Verify(ctx, m, false)
		}
		switch {
		case err == nil:
			newest = m
		case errors.Is(err, snapshot.ErrCorrupt):
			broken = append(broken, ids[i])
		default:
			return unknown(err)
		}
	}
	res := CheckResult{State: OK}
	var msgs []string
	var age time.Duration
	if newest == nil {
		res.State = Critical
		if len(ids) == 0 {
			msgs = append(msgs, "no snapshot in "+repo.String())
		} else {
			msgs = append(msgs, fmt.Sprintf("none of the %d snapshots in %s passes verification", len(ids), repo.String()))
		}
	} else {
		age = o.Now.Sub(newest.End)
		desc := fmt.Sprintf("newest verified snapshot %s is %s old", newest.ID, roundAge(age))
		switch {
		case age > o.MaxAge:
			res.State = Critical
			desc += fmt.Sprintf(" (max %s)", roundAge(o.MaxAge))
		case o.WarnAge > 0 && age > o.WarnAge:
			res.State = Warning
			desc += fmt.Sprintf(" (warning at %s)", roundAge(o.WarnAge))
		}
		msgs = append(msgs, desc)
		if len(broken) > 0 {
			res.State = max(res.State, Warning)
			msgs = append(msgs, fmt.Sprintf("%d newer snapshot(s) fail verification (%s); run 'zuulstate verify %s'", len(broken), broken[0], broken[0]))
		}
	}
	if status != nil && !status.Succeeded() {
		res.State = Critical
		msgs = append(msgs, fmt.Sprintf("last backup run at %s failed: %s", status.Finished.UTC().Format(time.RFC3339), status.Error))
	}
	var drillPerf string
	if o.MaxDrillAge > 0 {
		drill, err := ReadDrillStatus(ctx, repo.Store())
		if err != nil {
			return unknown(err)
		}
		state, msg, perf := drillVerdict(drill, repo.String(), o)
		res.State = max(res.State, state)
		msgs = append(msgs, msg)
		drillPerf = " " + perf
	}
	res.Message = strings.Join(msgs, "; ")
	res.Perfdata = fmt.Sprintf("age=%ds;%d;%d;0 snapshots=%d;;;0", int64(age.Seconds()), int64(o.WarnAge.Seconds()), int64(o.MaxAge.Seconds()), len(ids))
	if o.WarnAge == 0 {
		res.Perfdata = fmt.Sprintf("age=%ds;;%d;0 snapshots=%d;;;0", int64(age.Seconds()), int64(o.MaxAge.Seconds()), len(ids))
	}
	if newest == nil {
		res.Perfdata = fmt.Sprintf("snapshots=%d;;;0", len(ids))
	}
	res.Perfdata += drillPerf
	return res
}

// roundAge prints 30h, 90m or 45s rather than 30h0m0.123s.
func roundAge(d time.Duration) string {
	switch {
	case d >= 2*time.Hour:
		return fmt.Sprintf("%dh", int64(d.Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%dm", int64(d.Minutes()))
	}
	return fmt.Sprintf("%ds", int64(d.Seconds()))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
