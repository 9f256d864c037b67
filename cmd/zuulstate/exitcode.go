package main

import (
	"context"
	"errors"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/storage"
)

// Exit codes, documented in the README. Scripts and monitoring rely on them.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2 // bad flags, invalid configuration, missing identity
	exitLocked      = 3 // another process holds the repository lock
	exitNotFound    = 4 // no such snapshot
	exitCorrupt     = 5 // integrity check failed: corrupt manifest or part
	exitStorage     = 6 // repository unreachable, access denied, no bucket
	exitTargetFull  = 7 // restore target not empty and --force not given
	exitInterrupted = 130
)

// usageError marks command-line mistakes.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// nagiosExit is the verdict of `zuulstate check`, whose exit codes follow
// the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
// instead of the table above: monitoring systems read them that way. Its
// line is already on stdout.
type nagiosExit struct {
	state int
	line  string
}

func (e nagiosExit) Error() string { return e.line }

// alreadyReported says main need not print the error line.
func alreadyReported(err error) bool {
	var ne nagiosExit
	return errors.As(err, &ne)
}

func exitCode(ctx context.Context, err error) int {
	var ue usageError
	var ne nagiosExit
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ne):
		return ne.state
	case ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &ue), errors.Is(err, source.ErrUsage), errors.Is(err, repository.ErrInvalidReference), errors.Is(err, config.ErrInvalid), errors.Is(err, snapshot.ErrNoIdentity):
		return exitUsage
	case errors.Is(err, repository.ErrLocked):
		return exitLocked
	case errors.Is(err, repository.ErrSnapshotNotFound):
		return exitNotFound
	case errors.Is(err, snapshot.ErrCorrupt):
		return exitCorrupt
	case errors.Is(err, storage.ErrUnreachable), errors.Is(err, storage.ErrAccessDenied), errors.Is(err, storage.ErrNoBucket):
		return exitStorage
	case errors.Is(err, restore.ErrTargetNotEmpty):
		return exitTargetFull
	}
	return exitFailure
}
