package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// The CLI tests run the real binary, as cron and operators do: exit codes,
// stderr lines and signals are part of the contract.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zuulstate-cli-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "zuulstate")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes the binary with a clean environment plus env.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// expectFail checks the exit code and that stderr ends in one error line
// containing every fragment.
func (r result) expectFail(t *testing.T, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "zuulstate: error: ") {
		t.Fatalf("last stderr line is not the error line: %q", last)
	}
	for _, f := range fragments {
		if !strings.Contains(last, f) {
			t.Fatalf("error line %q does not mention %q", last, f)
		}
	}
}

func (r result) expectOK(t *testing.T) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// fixture is a config file with one local repository and one paths source.
type fixture struct {
	dir, repo, data, config string
	env                     []string
}

func newFixture(t *testing.T, repoYAML string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.repo = filepath.Join(f.dir, "repo")
	f.data = filepath.Join(f.dir, "data")
	for _, d := range []string{f.repo, filepath.Join(f.data, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"a.txt": "alpha\n", "sub/b.bin": strings.Repeat("\x00\x01binary", 5000)} {
		if err := os.WriteFile(filepath.Join(f.data, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if repoYAML == "" {
		repoYAML = "repository:\n  local:\n    path: " + f.repo + "\n"
	}
	f.writeConfig(t, repoYAML+"sources:\n  paths:\n    - name: data\n      path: "+f.data+"\n")
	return f
}

func (f *fixture) writeConfig(t *testing.T, body string) {
	t.Helper()
	f.config = filepath.Join(f.dir, "zuulstate.yaml")
	if err := os.WriteFile(f.config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env = []string{"ZUULSTATE_CONFIG=" + f.config, "ZUULSTATE_STATE_DIR=" + filepath.Join(f.dir, "state")}
}

// formatTwo makes the fixture's backups write format 2 (one object per
// part), for tests of that format's objects.
func (f *fixture) formatTwo(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(data), "repository:\n", "repository:\n  dedup: false\n", 1)
	if body == string(data) {
		t.Fatal("formatTwo: no repository section")
	}
	if err := os.WriteFile(f.config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, f.env, args...)
}

// s3YAML returns a repository section for the dev-services MinIO on a fresh
// prefix, with credentials in env (never in the file), or skips/fails per
// testenv.
func s3YAML(t *testing.T) (string, []string) {
	ep := testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT")
	y := fmt.Sprintf("repository:\n  s3:\n    endpoint: %s\n    bucket: %s\n    prefix: cli-%s/\n    ca_file: %s\n    lookup: path\n    retries: 1\n",
		ep, testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"), strings.ReplaceAll(t.Name(), "/", "-")+fmt.Sprint(os.Getpid()),
		testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"))
	env := []string{"ZUULSTATE_S3_ACCESS_KEY=" + testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"),
		"ZUULSTATE_S3_SECRET_KEY=" + testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY")}
	return y, env
}

// commandWithEnv prepares the binary for tests that need the process itself
// (signals); stdout and stderr are collected in strings.Builders.
func commandWithEnv(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = &strings.Builder{}, &strings.Builder{}
	return cmd
}
