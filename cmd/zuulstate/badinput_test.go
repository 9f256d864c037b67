package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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
			// 1 GiB that does not compress (a random 4 MiB block repeated
			// beyond zstd's window) takes seconds to back up. A sparse file
			// would not: holes are stored as holes.
			writeIncompressible(t, filepath.Join(f.data, "big.img"), 1<<30)
			cmd := commandWithEnv(t, f.env, "backup")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
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
				t.Fatalf("exit code %d (%v), want %d; stderr:\n%s", code, err, exitInterrupted, cmd.Stderr)
			}
			stderr := strings.TrimSpace(cmd.Stderr.(*strings.Builder).String())
			if last := stderr[strings.LastIndex(stderr, "\n")+1:]; !strings.HasPrefix(last, "zuulstate: error: ") {
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

func writeIncompressible(t *testing.T, path string, size int64) {
	t.Helper()
	block := make([]byte, 4<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(block)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for n := int64(0); n < size; n += int64(len(block)) {
		if _, err := f.Write(block); err != nil {
			t.Fatal(err)
		}
	}
}
