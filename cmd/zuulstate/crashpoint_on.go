//go:build crashpoints

package main

import (
	"os"

	"github.com/zuulstate/zuulstate/internal/crashpoint"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/storage"
)

// armCrashpoint puts the crash point named by ZUULSTATE_CRASHPOINT around
// the repository's store, in binaries built for the reliability tests
// (go build -tags crashpoints).
func armCrashpoint(repo *repository.Repository) (*repository.Repository, error) {
	spec := os.Getenv(crashpoint.EnvVar)
	if spec == "" {
		return repo, nil
	}
	p, err := crashpoint.Parse(spec)
	if err != nil {
		return nil, usageError{err}
	}
	return repo.WrapStore(func(s storage.Store) storage.Store { return crashpoint.Wrap(s, p) }), nil
}
