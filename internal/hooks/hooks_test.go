package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(script string, timeout time.Duration) Command {
	return Command{Argv: []string{"/bin/sh", "-c", script}, Timeout: timeout}
}

func TestRunOrderEnvAndSecrets(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	r := Runner{Kind: "post", Env: []string{"PATH=/usr/bin:/bin", "ZUULSTATE_S3_SECRET_KEY=s3cr3t", "AWS_SECRET_ACCESS_KEY=s3cr3t", "KEEP=1"}}
	err := r.Run(t.Context(), []Command{
		sh(`echo "one $ZUULSTATE_HOOK $ZUULSTATE_RESULT $KEEP" >> `+out, time.Minute),
		sh(`env >> `+out+`; echo two >> `+out, time.Minute),
	}, map[string]string{"ZUULSTATE_RESULT": "failure"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	s := string(data)
	if !strings.HasPrefix(s, "one post failure 1\n") || !strings.HasSuffix(s, "two\n") {
		t.Fatalf("order or environment wrong:\n%s", s)
	}
	if strings.Contains(s, "s3cr3t") {
		t.Fatalf("a secret reached the hook's environment:\n%s", s)
	}
}

func TestRunStopsAtFirstFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	r := Runner{Kind: "pre", Env: []string{"PATH=/usr/bin:/bin"}}
	err := r.Run(t.Context(), []Command{
		sh(`echo maintenance mode refused >&2; exit 3`, time.Minute),
		sh(`echo ran > `+out, time.Minute),
	}, nil)
	var he *Error
	if !errors.As(err, &he) || he.Kind != "pre" || !strings.Contains(err.Error(), "exit status 3") || he.Output != "maintenance mode refused" {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a hook after the failed one ran")
	}
	// RunAll runs the rest.
	if err := r.RunAll(t.Context(), []Command{sh(`exit 1`, time.Minute), sh(`echo ran > `+out, time.Minute)}, nil); err == nil {
		t.Fatal("RunAll hid a failure")
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal("RunAll stopped at the failure")
	}
}

// A hook that outlives its timeout is killed with its process group,
// including a child that ignores SIGTERM and holds the output pipe.
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	r := Runner{Kind: "pre", Env: []string{"PATH=/usr/bin:/bin"}, Grace: 500 * time.Millisecond}
	start := time.Now()
	err := r.Run(t.Context(), []Command{
		sh(`sh -c 'trap "" TERM; echo $$ > `+pidFile+`; while :; do sleep 0.1; done' & wait`, 300*time.Millisecond),
	}, nil)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s to give up", d)
	}
	data, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out hook still runs", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunMissingProgram(t *testing.T) {
	err := Runner{Kind: "pre"}.Run(t.Context(), []Command{{Argv: []string{"/nonexistent/hook"}, Timeout: time.Second}}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/hook") {
		t.Fatalf("got %v", err)
	}
}
