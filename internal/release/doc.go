// Package release tests what ships beside the code, through the Makefile
// targets an operator runs: a stamped version in every build (make build),
// static release binaries with checksums (make dist), the container image
// (make image), the compose example taking a real backup with that image
// against the dev services, and the Prometheus alert rules (promtool).
// It has no code of its own.
package release
