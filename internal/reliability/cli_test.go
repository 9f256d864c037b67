package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is zuulstate built once for all tests, run as cron would run it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zuulstate-reliability")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "zuulstate")
	// With crash points (internal/crashpoint): a test can make the binary
	// kill itself at a chosen change to the repository.
	build := exec.Command("go", "build", "-tags", "crashpoints", "-o", binary, "github.com/zuulstate/zuulstate/cmd/zuulstate")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Exit codes of cmd/zuulstate/exitcode.go that these tests check.
const (
	exitFailure     = 1
	exitLocked      = 3
	exitStorage     = 6
	exitInterrupted = 130
)

type result struct {
	stdout, stderr string
	code           int
}

// command prepares the binary with a clean environment plus env.
func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return cmd
}

func resultOf(t *testing.T, cmd *exec.Cmd, err error) result {
	t.Helper()
	r := result{stdout: cmd.Stdout.(fmt.Stringer).String(), stderr: cmd.Stderr.(fmt.Stringer).String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// logWatch collects a running command's stderr and tells when a line
// containing some text has appeared.
type logWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	waits map[string]chan struct{}
}

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, _ := l.buf.Write(p)
	for text, ch := range l.waits {
		if bytes.Contains(l.buf.Bytes(), []byte(text)) {
			close(ch)
			delete(l.waits, text)
		}
	}
	return n, nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// await blocks until text has been logged, failing the test after a minute.
func (l *logWatch) await(t *testing.T, text string) {
	t.Helper()
	l.mu.Lock()
	if l.waits == nil {
		l.waits = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	if bytes.Contains(l.buf.Bytes(), []byte(text)) {
		close(ch)
	} else {
		l.waits[text] = ch
	}
	l.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%q never logged:\n%s", text, tail(l.String(), 20))
	}
}

// start runs the binary in the background with its stderr watched.
func start(t *testing.T, env []string, args ...string) (*exec.Cmd, *logWatch) {
	t.Helper()
	cmd := command(t, env, args...)
	lw := &logWatch{}
	cmd.Stderr = lw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, lw
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := command(t, env, args...)
	return resultOf(t, cmd, cmd.Run())
}

func (r result) expectOK(t *testing.T, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit code %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, tail(r.stderr, 30))
	}
}

// expectFail checks the exit code and that stderr ends in exactly one
// error line that contains every fragment; it returns that line.
func (r result) expectFail(t *testing.T, code int, fragments ...string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, tail(r.stderr, 30))
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "zuulstate: error: ") {
		t.Fatalf("last stderr line is not the error line: %q", last)
	}
	if strings.Count(r.stderr, "zuulstate: error: ") != 1 {
		t.Fatalf("more than one error line:\n%s", r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(last, f) {
			t.Fatalf("error line %q does not mention %q", last, f)
		}
	}
	return last
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// snapshotIDs lists the repository's snapshots through the CLI.
func snapshotIDs(t *testing.T, env []string) []string {
	t.Helper()
	r := run(t, env, "snapshots", "--json")
	r.expectOK(t, "snapshots")
	var rows []struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("snapshots --json: %v\n%s", err, r.stdout)
	}
	var ids []string
	for _, row := range rows {
		if row.Error != "" {
			t.Fatalf("snapshot %s listed as unreadable: %s", row.ID, row.Error)
		}
		ids = append(ids, row.ID)
	}
	return ids
}
