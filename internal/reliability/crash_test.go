package reliability

import (
	crand "crypto/rand"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
)

// The crash tests kill `zuulstate backup` with SIGKILL at moments spread
// over a whole run (kill i of n falls at a random point of the i-th n-th of
// an uninterrupted run's duration), with every source configured. `make
// test` runs 30 kills on small data per store; `make torture` sets
// ZUULSTATE_TORTURE=1: more kills (ZUULSTATE_TORTURE_KILLS, default 100)
// and more data.
func crashPlan() (kills int, sz size) {
	kills, sz = 30, small
	if os.Getenv("ZUULSTATE_TORTURE") != "" {
		kills, sz = 100, size{files: 400, fileBytes: 256 << 10, rows: 200000, projects: 200}
	}
	if n, err := strconv.Atoi(os.Getenv("ZUULSTATE_TORTURE_KILLS")); err == nil && n > 0 {
		kills = n
	}
	return kills, sz
}

func TestCrashLocal(t *testing.T) { crash(t, false) }

func TestCrashS3(t *testing.T) { crash(t, true) }

func crash(t *testing.T, s3 bool) {
	t.Parallel()
	kills, sz := crashPlan()
	// The default lock_ttl (30m): the run after a kill on this host must
	// not wait for it, since the dead run's process is gone.
	w := newWorld(t, sz)
	var dir, prefix string
	if s3 {
		prefix = w.s3(t, "", "")
		// Larger than part_size: killed uploads of it leave unfinished
		// multipart uploads, which prune must abort.
		big := make([]byte, 16<<20)
		_, _ = crand.Read(big)
		if err := os.WriteFile(filepath.Join(w.paths, "big.bin"), big, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		dir = w.local(t, "")
	}
	w.write(t, "/unused")

	start := time.Now()
	r := w.run(t, "backup")
	r.expectOK(t, "first backup")
	full := time.Since(start)
	first := strings.TrimSpace(r.stdout)
	w.run(t, "verify", first, "--deep").expectOK(t, "verify first")
	w.restoreAndCompare(t, first)
	t.Logf("an uninterrupted backup takes %s", full.Round(time.Millisecond))

	verified := map[string]bool{first: true}
	orphaned := map[string]bool{}
	var completed, leftDown, orphans, prunedEarly int
	// Kill 0 is aimed at the cold copy (the container is down); the others
	// fall at random moments, spread over the run.
	for i := range kills + 1 {
		delay := time.Duration((float64(i-1) + rand.Float64()) / float64(kills) * float64(full))
		cmd := command(t, w.env, "backup")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			waitStopped(t, w)
		} else {
			time.Sleep(delay)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			completed++ // finished before the kill came
		}

		// Only complete snapshots are listed, and each one verifies.
		ids := snapshotIDs(t, w.env)
		var fresh []string
		for _, id := range ids {
			if !verified[id] {
				fresh = append(fresh, id)
			}
		}
		if len(fresh) > 1 {
			t.Fatalf("kill %d: %d new snapshots from one killed run: %v", i, len(fresh), fresh)
		}
		for _, id := range fresh {
			w.run(t, "verify", id, "--deep").expectOK(t, "verify snapshot of a killed run")
			verified[id] = true
		}
		if !w.running(t) {
			leftDown++
		}
		if keys, _ := repoKeys(t, dir, prefix); len(newOrphans(keys, ids, orphaned)) > 0 {
			orphans++
		}

		// The next run takes over the dead run's lock at once (its
		// process is gone), succeeds and starts what the killed run left
		// stopped.
		begin := time.Now()
		r := w.run(t, "backup")
		r.expectOK(t, "backup after kill "+strconv.Itoa(i))
		// The next kills are spread over the current length of a run.
		full = time.Since(begin)
		id := strings.TrimSpace(r.stdout)
		w.run(t, "verify", id).expectOK(t, "verify after kill")
		verified[id] = true
		if !w.running(t) {
			t.Fatalf("kill %d (after %s): the container is still stopped after the next run\n%s", i, delay, tail(r.stderr, 20))
		}
		if n := stopMarks(t, w.eng, w.writer); n != 0 {
			t.Fatalf("kill %d: %d stop marks left after the next run", i, n)
		}
		keys, _ := repoKeys(t, dir, prefix)
		if j := slices.IndexFunc(keys, func(k string) bool {
			return strings.HasPrefix(k, snapshot.LockPrefix) && !strings.Contains(k, "/.tmp-")
		}); j >= 0 {
			t.Fatalf("kill %d: lock %s left after the next run", i, keys[j])
		}
		// Long runs prune as they go, so the repository stays small.
		if i%10 == 9 && kills > 30 {
			r := w.run(t, "prune", "--keep-last", "3", "--orphan-grace", "0s")
			r.expectOK(t, "prune between kills")
			prunedEarly += strings.Count(r.stdout, "parts of interrupted snapshot")
		}
	}

	ids := snapshotIDs(t, w.env)
	w.run(t, "verify", "--all", "--deep").expectOK(t, "verify --all --deep")
	if leftDown == 0 {
		t.Error("no kill left the container stopped: the restart by the next run was not exercised")
	}
	w.restoreAndCompare(t, ids[len(ids)-1])

	// prune removes every leftover: parts without a manifest, temp files,
	// unfinished uploads; nothing of a listed snapshot.
	keys, uploadsBefore0 := repoKeys(t, dir, prefix)
	left := len(newOrphans(keys, ids, map[string]bool{})) + prunedEarly
	uploadsBefore, temps := len(uploadsBefore0), 0
	for _, k := range keys {
		if strings.Contains(k, "/.tmp-") {
			temps++
		}
	}
	r = w.run(t, "prune", "--keep-last", "100000", "--orphan-grace", "0s")
	r.expectOK(t, "prune")
	keys, uploads := repoKeys(t, dir, prefix)
	for _, k := range keys {
		id, isPart := snapshot.IDFromPartKey(k)
		mid, isManifest := snapshot.IDFromManifestKey(k)
		listed := (isPart && slices.Contains(ids, id)) || (isManifest && slices.Contains(ids, mid))
		status := strings.HasPrefix(k, "status/") // the last run's status, for monitoring
		// A kill in the middle of writing a lock object leaves its temp
		// file for an hour whatever the grace: prune cannot tell it from
		// the lock write of a run waiting for the lock.
		lockWrite := strings.HasPrefix(k, snapshot.LockPrefix) && strings.Contains(k, "/.tmp-")
		// The chunk store; expectNothingToPrune checks that every pack
		// and index object left is needed.
		chunks := k == chunkstore.ConfigKey || strings.HasPrefix(k, chunkstore.KeyPrefix) ||
			(strings.HasPrefix(k, chunkstore.PackPrefix) || strings.HasPrefix(k, chunkstore.IndexPrefix)) && !strings.Contains(k, "/.tmp-")
		if !listed && !status && !chunks && !lockWrite {
			t.Errorf("prune left %s", k)
		}
	}
	expectNothingToPrune(t, w.env)
	if len(uploads) > 0 {
		t.Errorf("prune left %d unfinished multipart uploads: %v", len(uploads), uploads)
	}
	if after := snapshotIDs(t, w.env); !slices.Equal(after, ids) {
		t.Errorf("prune changed the snapshots: %v, want %v", after, ids)
	}
	w.run(t, "verify", "--all").expectOK(t, "verify after prune")
	t.Logf("FIGURES store=%s kills=%d(+1 aimed at the cold copy) finished_before_kill=%d snapshots=%d container_left_stopped=%d runs_with_orphan_parts=%d orphan_snapshots_pruned=%d leftovers_swept=%d unfinished_uploads_before_prune=%d full_run=%s",
		map[bool]string{false: "local", true: "s3"}[s3], kills, completed, len(ids), leftDown, orphans, left, temps, uploadsBefore, full.Round(time.Millisecond))
}

// newOrphans returns the snapshot ids that have parts but are not listed
// and are not in seen, and adds them to seen.
func newOrphans(keys, listed []string, seen map[string]bool) []string {
	var out []string
	for _, k := range keys {
		if id, ok := snapshot.IDFromPartKey(k); ok && !slices.Contains(listed, id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// waitStopped waits until a backup has stopped the world's container.
func waitStopped(t *testing.T, w *world) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); w.running(t); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the backup never stopped the container")
		}
	}
}
