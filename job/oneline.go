package job

import (
	"context"
	"strings"
)

// OneLine renders err as the single line a cron mail, a hook or a tired
// operator reads: multi-error joins become "; ". After a signal (ctx is
// done) it says so.
func OneLine(ctx context.Context, err error) string {
	msg := err.Error()
	if ctx.Err() != nil && !strings.Contains(msg, "interrupt") {
		msg = "interrupted by signal: " + msg
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
}
