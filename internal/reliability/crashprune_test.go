package reliability

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// The prune crash tests kill `zuulstate prune` with SIGKILL at aimed
// steps (the binary is built with -tags crashpoints: ZUULSTATE_CRASHPOINT
// names the n-th put or delete below a prefix to die at), one per night of
// a run of nights whose host directory changes, so every prune has
// snapshots to remove, dead packs to delete and mixed packs to rewrite.
// After each kill every listed snapshot passes verify --deep; at the end
// an uninterrupted prune leaves nothing to do, and the oldest and newest
// snapshots restore identically.
func TestCrashPruneLocal(t *testing.T) { crashPrune(t, false) }

func TestCrashPruneS3(t *testing.T) { crashPrune(t, true) }

// prunePoints are the steps killed, in the order of a prune: removing
// snapshots, copying live chunks into new packs, writing the new index,
// deleting the old index objects, deleting packs. The required ones are
// reached by every prune of these nights; the others depend on how the
// chunks fall into packs.
var prunePoints = []struct {
	point    string
	required bool
}{
	{"before:delete:manifests/:1", true},
	{"before:delete:parts/:1", true},
	{"after:put:packs/:1", true},
	{"before:put:index/:1", true},
	{"after:put:index/:1", true},
	{"before:delete:index/:2", true},
	{"before:delete:packs/:1", true},
	{"after:delete:packs/:1", true},
	{"before:delete:packs/:3", false},
}

func crashPrune(t *testing.T, s3 bool) {
	t.Parallel()
	w := newWorld(t, small)
	var dir, prefix string
	if s3 {
		prefix = w.s3(t, "", "")
	} else {
		dir = w.local(t, "")
	}
	// Small packs: many of them, and a night's chunks share a few.
	w.repoYAML += "  pack_size: 256KiB\n"
	nightOf := map[string]string{} // snapshot id → its host directory
	night := func(i int) {
		t.Helper()
		next := filepath.Join(w.dir, fmt.Sprintf("night-%02d", i))
		if i == 0 {
			writeFiles(t, next, small, 100)
		} else {
			changeNight(t, w.paths, next, i)
		}
		w.paths = next
		w.write(t, "/unused")
		r := w.run(t, "backup")
		r.expectOK(t, fmt.Sprintf("backup of night %d", i))
		nightOf[strings.TrimSpace(r.stdout)] = next
	}
	for i := range 3 {
		night(i)
	}
	points := append([]struct {
		point    string
		required bool
	}{}, prunePoints...)
	points = append(points, struct {
		point    string
		required bool
	}{fmt.Sprintf("before:delete:packs/:%d", 1+rand.IntN(6)), false})
	prune := []string{"prune", "--keep-last", "3", "--orphan-grace", "0s", "--repack-threshold", "100"}
	var reached, missed []string
	for i, p := range points {
		night(3 + i)
		cmd := command(t, append(w.env, "ZUULSTATE_CRASHPOINT="+p.point), prune...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			reached = append(reached, p.point)
		case err == nil && !p.required:
			missed = append(missed, p.point)
		default:
			r := resultOf(t, cmd, err)
			t.Fatalf("prune aimed at %s: exit code %d, not killed\n%s", p.point, r.code, tail(r.stderr, 20))
		}
		// Every listed snapshot is whole.
		for _, id := range snapshotIDs(t, w.env) {
			w.run(t, "verify", id, "--deep").expectOK(t, "verify after a prune killed at "+p.point)
		}
		// The next run takes over the dead prune's lock at once: its
		// process is gone (the lock's default TTL is 30m).
	}
	night(3 + len(points))
	before := repoBytes(t, dir, prefix)
	r := w.run(t, "prune", "--keep-last", "3", "--orphan-grace", "0s")
	r.expectOK(t, "prune after the kills")
	after := repoBytes(t, dir, prefix)
	t.Logf("prune after the kills:\n%s", r.stdout)
	w.run(t, "verify", "--all", "--deep").expectOK(t, "verify --all --deep")
	expectNothingToPrune(t, w.env)
	keys, uploads := repoKeys(t, dir, prefix)
	for _, k := range keys {
		if strings.Contains(k, "/.tmp-") {
			t.Errorf("prune left the temp file %s", k)
		}
	}
	if len(uploads) > 0 {
		t.Errorf("prune left unfinished uploads: %v", uploads)
	}
	ids := snapshotIDs(t, w.env)
	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		w.paths = nightOf[id]
		w.restoreAndCompare(t, id)
	}
	t.Logf("FIGURES store=%s prune_kills=%d reached=%v not_reached=%v snapshots=%d repository_before_last_prune=%d after=%d",
		map[bool]string{false: "local", true: "s3"}[s3], len(reached), reached, missed, len(ids), before, after)
}

// changeNight copies the host directory of the night before (with its
// times, so unchanged files keep their chunks), rewrites a quarter of its
// files and adds a few.
func changeNight(t *testing.T, prev, next string, night int) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", prev, next).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(uint64(night), 11))
	err := filepath.WalkDir(next, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 || rng.IntN(4) != 0 {
			return err
		}
		return os.WriteFile(p, randomLog(rng, 16<<10+rng.IntN(48<<10)), 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p := filepath.Join(next, fmt.Sprintf("d%d", i), fmt.Sprintf("night%02d-%d", night, i))
		if err := os.WriteFile(p, randomLog(rng, 32<<10), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func randomLog(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(16))
	}
	return b
}

// expectNothingToPrune checks that a prune right after an uninterrupted
// one would delete and write nothing.
func expectNothingToPrune(t *testing.T, env []string) {
	t.Helper()
	r := run(t, env, "prune", "--keep-last", "100000", "--orphan-grace", "0s", "--dry-run")
	r.expectOK(t, "prune --dry-run")
	if !strings.Contains(r.stdout, "would free about 0 B: 0 objects deleted (0 B), 0 written (0 B)") {
		t.Errorf("a second prune would still change something:\n%s", r.stdout)
	}
}

// repoBytes adds up the sizes of the repository's objects.
func repoBytes(t *testing.T, localDir, prefix string) int64 {
	t.Helper()
	var n int64
	if localDir != "" {
		err := filepath.WalkDir(localDir, func(_ string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err == nil {
				n += fi.Size()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	c, bucket := s3Client(t), testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET")
	for oi := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		n += oi.Size
	}
	return n
}
