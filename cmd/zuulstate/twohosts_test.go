package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTwoHostsOneRepository: two hosts, each with its own host name, state
// directory and data, plus one large file they share, back up into one
// repository at the same time for four rounds while a prune (rewriting
// every pack with a dead chunk) races them; every run waits for the
// repository lock, which serializes them. No chunk is lost: every
// snapshot left passes verify --deep and restores byte-identical. The
// shared file is stored once: chunks are shared across hosts.
func TestTwoHostsOneRepository(t *testing.T) {
	for name, mk := range pruneFixtures(t) {
		t.Run(name, func(t *testing.T) {
			a := mk(t)
			secrets := a.env[2:] // S3 credentials, if any
			b := secondHost(t, a, secrets)
			a.writeConfig(t, "host: host-a\n"+readFile(t, a.config))
			a.env = append(a.env, secrets...)
			const shared = 6 << 20
			// The same file on both hosts, the same to the nanosecond of its
			// mtime, so both archives hold the same record.
			mtime := time.Date(2026, 11, 1, 2, 3, 4, 5, time.UTC)
			for _, f := range []*fixture{a, b} {
				p := filepath.Join(f.data, "shared.bin")
				writeIncompressibleSeeded(t, p, shared, 1000)
				if err := os.Chtimes(p, mtime, mtime); err != nil {
					t.Fatal(err)
				}
			}
			dataOf := map[string]string{} // snapshot id → copy of its data
			for round := range 4 {
				copies := map[*fixture]string{}
				for i, f := range []*fixture{a, b} {
					changeData(t, f, round*2+i)
					copies[f] = filepath.Join(f.dir, fmt.Sprintf("round-%d", round))
					if out, err := exec.Command("cp", "-a", f.data, copies[f]).CombinedOutput(); err != nil {
						t.Fatalf("cp: %v\n%s", err, out)
					}
				}
				backup := []string{"backup", "--lock-wait", "5m"}
				res := runManyEnvs(t, [][]string{a.env, b.env, a.env}, backup, backup,
					[]string{"prune", "--quiet", "--keep-last", "3", "--orphan-grace", "0s", "--repack-threshold", "100", "--lock-wait", "5m"})
				for i, r := range res {
					if r.code != 0 {
						t.Fatalf("round %d, run %d: exit code %d\n%s", round, i, r.code, r.stderr)
					}
				}
				dataOf[strings.TrimSpace(res[0].stdout)] = copies[a]
				dataOf[strings.TrimSpace(res[1].stdout)] = copies[b]
				if round == 0 {
					// Whichever host ran second found the shared file's chunks
					// and stored only its own new files (600 KiB).
					second := min(storedBytes(t, a, res[0].stdout), storedBytes(t, a, res[1].stdout))
					if second > shared/4 {
						t.Errorf("the second host's first backup stored %d bytes: the shared file (%d bytes) was not found", second, shared)
					}
					t.Logf("the second host's first backup stored %d bytes, with a shared file of %d", second, shared)
				}
			}
			a.run(t, "verify", "--all", "--deep").expectOK(t)
			hosts := snapshotHosts(t, a)
			if len(hosts) < 3 {
				t.Fatalf("snapshots left: %v", hosts)
			}
			for id, host := range hosts {
				target := filepath.Join(a.dir, "restore-"+id)
				a.run(t, "restore", id, "--paths-dir", target).expectOK(t)
				sameTree(t, dataOf[id], filepath.Join(target, "data"))
				t.Logf("snapshot %s of %s restored", id, host)
			}
			noLocksLeft(t, a)
		})
	}
}

// secondHost makes a fixture for another host writing into a's
// repository: its own data, state directory and host name.
func secondHost(t *testing.T, a *fixture, secrets []string) *fixture {
	t.Helper()
	b := &fixture{dir: t.TempDir(), repo: a.repo}
	b.data = filepath.Join(b.dir, "data")
	if err := os.MkdirAll(b.data, 0o755); err != nil {
		t.Fatal(err)
	}
	b.writeConfig(t, "host: host-b\n"+strings.ReplaceAll(readFile(t, a.config), a.data, b.data))
	b.env = append(b.env, secrets...)
	return b
}

// changeData writes two new files and removes those of two rounds ago.
func changeData(t *testing.T, f *fixture, n int) {
	t.Helper()
	for i := range 2 {
		writeIncompressibleSeeded(t, filepath.Join(f.data, fmt.Sprintf("new-%02d-%d", n, i)), 300<<10, uint64(n*10+i))
	}
	old, _ := filepath.Glob(filepath.Join(f.data, fmt.Sprintf("new-%02d-*", n-4)))
	for _, p := range old {
		_ = os.Remove(p)
	}
}

func writeIncompressibleSeeded(t *testing.T, path string, size int64, seed uint64) {
	t.Helper()
	var key [32]byte
	key[0], key[1], key[2] = byte(seed), byte(seed>>8), 0xb
	rng := rand.NewChaCha8(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, min(size, 4<<20))
	for n := int64(0); n < size; n += int64(len(block)) {
		_, _ = rng.Read(block)
		if _, err := f.Write(block[:min(int64(len(block)), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
}

// storedBytes is what the snapshot a backup printed stored new.
func storedBytes(t *testing.T, f *fixture, id string) int64 {
	t.Helper()
	var rows []snapshotRow
	r := f.run(t, "snapshots", "--json")
	r.expectOK(t)
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if row.ID == strings.TrimSpace(id) {
			return row.StoredBytes
		}
	}
	t.Fatalf("no snapshot %q", id)
	return 0
}

// runManyEnvs starts every argument list at once, each with its own
// environment, and returns the results in order.
func runManyEnvs(t *testing.T, envs [][]string, argvs ...[]string) []result {
	t.Helper()
	out := make([]result, len(argvs))
	var wg sync.WaitGroup
	for i, argv := range argvs {
		cmd := commandWithEnv(t, envs[i], argv...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			err := cmd.Wait()
			out[i] = result{stdout: cmd.Stdout.(*strings.Builder).String(), stderr: cmd.Stderr.(*strings.Builder).String()}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				out[i].code = ee.ExitCode()
			} else if err != nil {
				out[i].code, out[i].stderr = -1, out[i].stderr+err.Error()
			}
		})
	}
	wg.Wait()
	return out
}
