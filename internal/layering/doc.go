// Package layering holds the test of the import rules between zuulstate's
// packages (ARCHITECTURE.md): which package may depend on which, checked
// on the dependencies `go list` reports, so a new import that breaks the
// layering fails `make test`.
package layering
