package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMalformedConfig(t *testing.T) {
	f := newFixture(t, "")
	f.writeConfig(t, "repository:\n  local:\n    path: "+f.repo+"\n  colour: blue\n")
	f.run(t, "snapshots").expectFail(t, exitUsage, "invalid configuration", "colour")
	f.writeConfig(t, "repository: [\n")
	f.run(t, "backup").expectFail(t, exitUsage, "invalid configuration")
	f.run(t, "backup", "--no-such-flag").expectFail(t, exitUsage, "no-such-flag")
	run(t, []string{"ZUULSTATE_CONFIG=/nonexistent/zuulstate.yaml"}, "snapshots").expectFail(t, exitUsage, "/nonexistent/zuulstate.yaml")
}

func TestMissingLocalRepository(t *testing.T) {
	f := newFixture(t, "")
	os.RemoveAll(f.repo)
	f.run(t, "backup").expectFail(t, exitStorage, f.repo)
}

func TestUnknownSnapshot(t *testing.T) {
	f := newFixture(t, "")
	f.run(t, "show", "latest").expectFail(t, exitNotFound, "no snapshots")
	f.run(t, "backup", "--quiet").expectOK(t)
	f.run(t, "show", "20200101T000000Z-00000000").expectFail(t, exitNotFound, "20200101T000000Z-00000000", "zuulstate snapshots")
	f.run(t, "restore", "nope", "--paths-dir", filepath.Join(f.dir, "t")).expectFail(t, exitNotFound, "nope")
}

func TestCorruptManifest(t *testing.T) {
	f := newFixture(t, "")
	f.run(t, "backup", "--quiet").expectOK(t)
	id := latestID(t, f)
	path := filepath.Join(f.repo, "manifests", id+".json")
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, "show", id).expectFail(t, exitCorrupt, id, "integrity")
	f.run(t, "verify", "--all").expectFail(t, exitCorrupt, "failed verification")
	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", id, "--paths-dir", target).expectFail(t, exitCorrupt, id)
	r := f.run(t, "snapshots")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "UNREADABLE") {
		t.Fatalf("corrupt snapshot not flagged in listing:\n%s", r.stdout)
	}
}

// A flipped byte in a part: verify --deep and restore both fail, and restore
// fails before writing anything.
func TestFlippedPartByte(t *testing.T) {
	f := newFixture(t, "")
	f.formatTwo(t)
	f.run(t, "backup", "--quiet").expectOK(t)
	id := latestID(t, f)
	part := filepath.Join(f.repo, "parts", id, "paths", "data.zst")
	data, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x10
	if err := os.WriteFile(part, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, "verify", id).expectOK(t) // sizes still match
	f.run(t, "verify", id, "--deep").expectFail(t, exitCorrupt, "paths/data")
	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", id, "--paths-dir", target).expectFail(t, exitCorrupt, "nothing was restored")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("restore wrote into %s before failing (stat: %v)", target, err)
	}
}

func TestAgeIdentities(t *testing.T) {
	f := newFixture(t, "")
	key, other := filepath.Join(f.dir, "key.txt"), filepath.Join(f.dir, "other.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	recipient := strings.TrimSpace(r.stdout)
	f.run(t, "keygen", "--output", other).expectOK(t)
	f.run(t, "keygen", "--output", key).expectFail(t, exitFailure, "must not exist")
	f.writeConfig(t, "repository:\n  local:\n    path: "+f.repo+"\n  encryption:\n    recipients: ["+recipient+"]\n"+
		"sources:\n  paths:\n    - name: data\n      path: "+f.data+"\n")
	f.run(t, "backup", "--quiet").expectOK(t)
	// Without a private key, deep verify still checks the stored bytes.
	r = f.run(t, "verify", "latest", "--deep")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "ok (stored)") {
		t.Fatalf("verify without identity: %s", r.stdout)
	}
	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", "latest", "--paths-dir", target).expectFail(t, exitUsage, "identity")
	f.env = append(f.env, "ZUULSTATE_AGE_IDENTITY_FILE="+other)
	f.run(t, "restore", "latest", "--paths-dir", target).expectFail(t, exitUsage, "not one of the recipients", recipient)
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("restore with the wrong identity wrote into %s", target)
	}
	f.env[len(f.env)-1] = "ZUULSTATE_AGE_IDENTITY_FILE=" + key
	r = f.run(t, "verify", "latest", "--deep")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "ok (raw)") {
		t.Fatalf("verify with identity: %s", r.stdout)
	}
	f.run(t, "restore", "latest", "--paths-dir", target).expectOK(t)
	sameTree(t, f.data, filepath.Join(target, "data"))
	if data, _ := os.ReadFile(filepath.Join(f.repo, "manifests", latestID(t, f)+".json")); strings.Contains(string(data), "AGE-SECRET-KEY") {
		t.Fatal("manifest contains a private key")
	}
}

// SIGTERM in the middle of a backup: non-zero exit, no manifest, no lock,
// no parts left, one error line.
func TestSIGTERMMidBackup(t *testing.T) {
	for _, backend := range []string{"local", "s3"} {
		t.Run(backend, func(t *testing.T) {
			repoYAML, env := "", []string(nil)
			if backend == "s3" {
				repoYAML, env = s3YAML(t)
			}
			f := newFixture(t, repoYAML)
			f.env = append(f.env, env...)
			// 1 GiB that neither compresses nor deduplicates takes seconds
			// to back up. (A sparse file would not: holes are stored as
			// holes; nor would a repeated block: its chunks are stored once.)
			writeIncompressible(t, filepath.Join(f.data, "big.img"), 1<<30)
			cmd := commandWithEnv(t, f.env, "backup")
			stderr := &watchedOutput{want: "backup started", seen: make(chan struct{})}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The signal lands while data is written, not after a guess
			// of how long the start takes: once the run has begun and,
			// locally, once its first pack is stored.
			select {
			case <-stderr.seen:
			case <-time.After(time.Minute):
				t.Fatalf("no %q within a minute:\n%s", stderr.want, stderr)
			}
			if backend == "local" {
				waitForPack(t, f.repo)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err := cmd.Wait()
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("took %s to stop after SIGTERM", took)
			}
			code := cmd.ProcessState.ExitCode()
			if code != exitInterrupted {
				t.Fatalf("exit code %d (%v), want %d; stderr:\n%s", code, err, exitInterrupted, stderr)
			}
			out := strings.TrimSpace(stderr.String())
			if last := out[strings.LastIndex(out, "\n")+1:]; !strings.HasPrefix(last, "zuulstate: error: ") {
				t.Fatalf("last line %q", last)
			}
			r := f.run(t, "snapshots")
			r.expectOK(t)
			if !strings.Contains(r.stdout, "0 snapshots") {
				t.Fatalf("a snapshot appeared:\n%s", r.stdout)
			}
			r = f.run(t, "unlock")
			r.expectOK(t)
			if !strings.Contains(r.stdout, "no locks") {
				t.Fatalf("lock left behind: %s", r.stdout)
			}
			r = f.run(t, "prune", "--keep-last", "1", "--orphan-grace", "0s", "--dry-run")
			r.expectOK(t)
			if strings.Contains(r.stdout, "interrupted snapshot") {
				t.Fatalf("parts of the interrupted run were left behind: %s", r.stdout)
			}
		})
	}
}

// writeIncompressible writes size random bytes:
// nothing in them compresses or repeats.
func writeIncompressible(t *testing.T, path string, size int64) {
	t.Helper()
	writeIncompressibleSeeded(t, path, size, 1)
}

// waitForPack waits until the local repository at repo holds a pack.
func waitForPack(t *testing.T, repo string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if packs, _ := filepath.Glob(filepath.Join(repo, "packs", "*", "*.pack")); len(packs) > 0 {
			return
		}
	}
	t.Fatal("no pack in the repository within a minute")
}

// watchedOutput collects a process's output, safe to read while the
// process writes; seen is closed once the output contains want.
type watchedOutput struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
	done bool
}

func (w *watchedOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if !w.done && strings.Contains(w.b.String(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchedOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
