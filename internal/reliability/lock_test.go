package reliability

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledRunLock: a backup SIGKILLed while it holds the repository lock
// (as by the OOM killer) does not block the next run on the same host for
// the lock's TTL: the next run sees that the holder's process is gone,
// warns, takes the lock over and succeeds at once. A fresh lock of another
// host still blocks (exit 3).
func TestKilledRunLock(t *testing.T) {
	dir := t.TempDir()
	repo, data := filepath.Join(dir, "repo"), filepath.Join(dir, "data")
	for _, d := range []string{repo, data} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A ZooKeeper that accepts and never answers keeps the first run
	// inside the backup, under the lock, for as long as the test needs.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := filepath.Join(dir, "zuulstate.yaml")
	write := func(sources string) {
		body := fmt.Sprintf("repository:\n  local: {path: %s}\n  lock_ttl: 30m\nsources:\n%s", repo, sources)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("  zookeeper:\n    servers: [%s]\n    connect_timeout: 10m\n", silent.Addr()))
	env := []string{"ZUULSTATE_CONFIG=" + cfg}

	cmd, _ := start(t, env, "backup")
	holder := awaitHeldLock(t, filepath.Join(repo, "locks"))
	if holder.PID != cmd.Process.Pid {
		t.Fatalf("the lock names pid %d, the backup runs as %d", holder.PID, cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	write(fmt.Sprintf("  paths:\n    - {name: data, path: %s}\n", data))
	begin := time.Now()
	r := run(t, env, "backup")
	r.expectOK(t, "backup after a killed run")
	took := time.Since(begin)
	warning := ""
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "WARN") && strings.Contains(line, fmt.Sprintf("process %d no longer exists", holder.PID)) {
			warning = line
		}
	}
	if warning == "" {
		t.Fatalf("no warning about the dead run's lock:\n%s", r.stderr)
	}
	t.Log(warning)
	if left, _ := filepath.Glob(filepath.Join(repo, "locks", "*.json")); len(left) != 0 {
		t.Fatalf("locks left after the run: %v", left)
	}

	// A live lock of another host blocks for its TTL.
	other := holder.raw
	other["host"] = "another-host"
	other["refreshed"] = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(other)
	if err := os.MkdirAll(filepath.Join(repo, "locks"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "locks", "20991231T000000.000000000Z-000000000000.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, env, "backup").expectFail(t, exitLocked, "another-host")
	t.Logf("FIGURES lock killed_holder_pid=%d next_run_took=%s (lock_ttl 30m)", holder.PID, took.Round(time.Millisecond))
}

type heldLock struct {
	PID int
	raw map[string]any
}

// awaitHeldLock waits until a lock object in dir is marked held.
func awaitHeldLock(t *testing.T, dir string) heldLock {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var l heldLock
			if json.Unmarshal(b, &l.raw) != nil {
				continue // being written
			}
			if held, _ := l.raw["held"].(bool); held {
				pid, _ := l.raw["pid"].(float64)
				l.PID = int(pid)
				return l
			}
		}
	}
	t.Fatal("no held lock appeared within a minute")
	return heldLock{}
}
