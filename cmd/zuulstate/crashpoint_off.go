//go:build !crashpoints

package main

import "github.com/zuulstate/zuulstate/repository"

// armCrashpoint does nothing in release builds (see crashpoint_on.go).
func armCrashpoint(repo *repository.Repository) (*repository.Repository, error) {
	return repo, nil
}
