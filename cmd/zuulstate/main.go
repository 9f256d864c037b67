// Command zuulstate backs up and restores the persistent state of a Zuul CI
// deployment. Each subcommand lives in its own file and only parses flags,
// calls the importable packages and maps errors to exit codes (exitcode.go).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zuulstate/zuulstate/job"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCommand().ExecuteContext(ctx)
	code := exitCode(ctx, err)
	if code != 0 && !alreadyReported(err) {
		fmt.Fprintln(os.Stderr, "zuulstate: error: "+job.OneLine(ctx, err))
	}
	stop()
	os.Exit(code)
}
