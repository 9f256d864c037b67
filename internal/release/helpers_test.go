package release

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository root: the Makefile and examples live there.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// tool finds a program the test drives: missing, the test is skipped, or
// failed in CI, where scripts/dev-services.sh installs it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " is not installed: run scripts/dev-services.sh start (as root), which installs it"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// environ is this process's environment without what an enclosing make
// (make test) passes to its children, plus extra: the make under test
// must read the Makefile's defaults, not the outer run's flags.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runMake runs make in the repository with extra environment variables and
// returns its combined output and error.
func runMake(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool(t, "make"), append([]string{"--no-print-directory", "-C", repoRoot(t)}, args...)...)
	cmd.Env = environ(env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustMake is runMake that fails the test on error.
func mustMake(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := runMake(t, env, args...)
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// output runs a command and returns its trimmed stdout; it fails the test,
// with stderr, on error.
func output(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = environ(env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// git runs git in the repository.
func git(t *testing.T, args ...string) string {
	t.Helper()
	return output(t, nil, tool(t, "git"), append([]string{"-C", repoRoot(t)}, args...)...)
}

// unique returns prefix followed by random hex: names on the shared
// services never collide with another test run's.
func unique(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
