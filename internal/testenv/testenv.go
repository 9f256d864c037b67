// Package testenv gives integration tests the addresses of the real services
// started by scripts/dev-services.sh, and decides what happens when one is
// missing: skip on a developer machine, fail when CI is set.
package testenv

import (
	"os"
	"testing"
)

// Lookup returns the environment variable name's value. When it is empty the
// test is skipped, or failed when the CI environment variable is set, because
// in CI a missing service means the harness is broken, not that the test may
// be left out.
func Lookup(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := "integration service not configured: " + name + " is empty (run: eval \"$(scripts/dev-services.sh env)\")"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
