package reliability

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/internal/faultproxy"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/miniotest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/snapshot"
)

// expectCleanFailure checks what every failed run must leave: no new
// snapshot, no manifest, no lock, no parts (the failed run deleted what it
// wrote), the cold-copied container running and no stop mark.
func (w *world) expectCleanFailure(t *testing.T, dir, prefix string, before []string) {
	t.Helper()
	if ids := snapshotIDs(t, w.env); !slices.Equal(ids, before) {
		t.Errorf("snapshots after the failed run: %v, want %v", ids, before)
	}
	keys, uploads := repoKeys(t, dir, prefix)
	for _, k := range withoutStatus(keys) {
		id, isPart := snapshot.IDFromPartKey(k)
		mid, isManifest := snapshot.IDFromManifestKey(k)
		switch {
		case strings.HasPrefix(k, snapshot.LockPrefix):
			t.Errorf("lock %s left by the failed run", k)
		case isManifest && !slices.Contains(before, mid):
			t.Errorf("manifest %s written by the failed run", k)
		case isPart && !slices.Contains(before, id), strings.Contains(k, "/.tmp-"):
			t.Errorf("the failed run left %s", k)
		}
	}
	if len(uploads) > 0 {
		t.Errorf("the failed run left unfinished uploads: %v", uploads)
	}
	if !w.running(t) {
		t.Error("the container is left stopped")
	}
	if n := stopMarks(t, w.eng, w.writer); n != 0 {
		t.Errorf("%d stop marks left", n)
	}
}

// TestSignals: SIGTERM and SIGINT while the container is down for its cold
// copy end the run with 130 and one line, and clean up everything.
func TestSignals(t *testing.T) {
	w := newWorld(t, small)
	dir := w.local(t, "")
	w.write(t, "/unused")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := command(t, w.env, "backup")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, w)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		r := resultOf(t, cmd, cmd.Wait())
		r.expectFail(t, exitInterrupted, "interrupt")
		w.expectCleanFailure(t, dir, "", nil)
		t.Logf("%s: %s", sig, lastLine(r.stderr))
	}
}

// TestDiskFull: a local repository on a 512 KiB tmpfs fills up mid-part.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	w := newWorld(t, small)
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "zuulstate-test-full", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	w.local(t, dir)
	w.write(t, "/unused")
	r := w.run(t, "backup")
	line := r.expectFail(t, exitFailure, "no space left on device")
	w.expectCleanFailure(t, dir, "", nil)
	t.Logf("disk full: %s", line)
}

// s3Proxy puts a fault-injecting proxy in front of the dev-services MinIO.
func s3Proxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	pem, err := os.ReadFile(testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	p, err := faultproxy.Start(faultproxy.Config{
		Target: "https://" + testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"),
		TLS:    &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Delay:  300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestS3Faults: MinIO answering 500, resetting connections and answering
// slowly on a fifth of all requests; the backup retries and succeeds. Then
// every upload of a part fails: the run fails with one line, and the lock
// and everything else is cleaned up (the proxy lets those requests through).
func TestS3Faults(t *testing.T) {
	p := s3Proxy(t)
	w := newWorld(t, small)
	prefix := w.s3(t, p.Addr, "    retries: 8\n")
	w.write(t, "/unused")

	p.Set(0.2, nil)
	r := w.run(t, "backup")
	r.expectOK(t, "backup through a faulty proxy")
	counts, total := p.Counts()
	p.Set(0, nil)
	id := strings.TrimSpace(r.stdout)
	w.run(t, "verify", id, "--deep").expectOK(t, "verify")
	t.Logf("transient faults: %v of %d requests; the backup succeeded", counts, total)
	if counts[faultproxy.Status500]+counts[faultproxy.Reset] == 0 {
		t.Fatal("no fault was injected")
	}

	isPartUpload := func(r *http.Request) bool {
		return (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Contains(r.URL.Path, "/parts/")
	}
	p.Set(1, isPartUpload, faultproxy.Status500)
	r = w.run(t, "backup")
	line := r.expectFail(t, exitFailure, "part", "s3 put", "internal error")
	p.Set(0, nil)
	w.expectCleanFailure(t, "", prefix, []string{id})
	t.Logf("lasting faults: %s", line)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestMinIOOutage stops a private MinIO in the middle of an upload. Back
// within the retry window (retries: 9 waits at least 8s in all), the
// backup succeeds; down for longer, it fails within a bounded time with
// one line. The lock cannot be released while the store is gone: it goes
// stale after lock_ttl and the next run takes it over.
func TestMinIOOutage(t *testing.T) {
	m := miniotest.Start(t, testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"), testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY"),
		testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"))
	w := newWorld(t, small)
	w.lockTTL = "12s" // refreshed every 2s, lost after 8s without: a short outage keeps it
	w.s3(t, m.Addr, "    retries: 9\n")
	w.write(t, "/unused")

	cmd, lw := start(t, w.env, "backup")
	lw.await(t, "part written")
	m.Stop()
	down := time.Now()
	time.Sleep(3 * time.Second)
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(down)
	r := resultOf(t, cmd, cmd.Wait())
	r.expectOK(t, "backup across a short outage")
	id := strings.TrimSpace(r.stdout)
	w.run(t, "verify", id, "--deep").expectOK(t, "verify")
	t.Logf("MinIO down for %s mid-upload: the backup succeeded", outage.Round(time.Millisecond))

	cmd, lw = start(t, w.env, "backup")
	lw.await(t, "part written")
	m.Stop()
	down = time.Now()
	r = resultOf(t, cmd, cmd.Wait())
	failedAfter := time.Since(down)
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	line := r.expectFail(t, exitStorage, "unreachable")
	// Bounded: the retry window, then the deletes of what was written
	// and the release of the lock, each under its own 30s deadline.
	if failedAfter > 2*time.Minute {
		t.Errorf("the run took %s to give up", failedAfter)
	}
	t.Logf("MinIO down for good: the run failed after %s: %s\n%s", failedAfter.Round(time.Millisecond), line, tail(r.stderr, 12))
	if ids := snapshotIDs(t, w.env); !slices.Equal(ids, []string{id}) {
		t.Fatalf("snapshots %v, want only %s", ids, id)
	}
	if !w.running(t) || stopMarks(t, w.eng, w.writer) != 0 {
		t.Fatal("the container was left stopped, or its stop mark left")
	}
	r = w.run(t, "backup", "--lock-wait", "1m")
	r.expectOK(t, "backup after the outage")
	w.run(t, "prune", "--keep-last", "100", "--orphan-grace", "0s").expectOK(t, "prune")
	if n := len(snapshotIDs(t, w.env)); n != 2 {
		t.Fatalf("%d snapshots after prune, want 2", n)
	}
}

// TestMariaDBKilled kills the dump's connections (KILL, as an operator or
// a watchdog would) while the mariadb source reads a large table; the
// other sources run meanwhile. backup/mariadb's TestKilledConnection and
// TestKilledServer cover the source on its own.
func TestMariaDBKilled(t *testing.T) {
	w := newWorld(t, small)
	q := mariadbtest.QuoteIdent(w.db)
	mariadbtest.Exec(t, w.prod, "CREATE TABLE "+q+".zuul_buildset_event (id BIGINT PRIMARY KEY, pad VARCHAR(255)) ENGINE=InnoDB")
	mariadbtest.Exec(t, w.prod, "SET SESSION sql_log_bin = 0; INSERT INTO "+q+".zuul_buildset_event SELECT seq, REPEAT(MD5(seq), 6) FROM "+q+".seq_1_to_600000; SET SESSION sql_log_bin = 1")
	dir := w.local(t, "")
	w.write(t, "/unused")

	cmd, lw := start(t, w.env, "backup")
	lw.await(t, "consistent snapshot started")
	time.Sleep(200 * time.Millisecond)
	// The dump's connections are those running a statement on this test's
	// database (the server is shared: nobody else's are touched).
	killed := map[int64]bool{}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && cmd.ProcessState == nil; time.Sleep(20 * time.Millisecond) {
		rows, err := w.prod.QueryContext(t.Context(), "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND (DB = ? OR INFO LIKE CONCAT('%', ?, '%'))", w.db, w.db)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if !killed[id] {
				killed[id] = true
				_, _ = w.prod.ExecContext(t.Context(), fmt.Sprintf("KILL CONNECTION %d", id))
			}
		}
		rows.Close()
		if len(killed) > 0 {
			break
		}
	}
	if len(killed) == 0 {
		t.Fatal("no dump connection found to kill")
	}
	ids := killed
	r := resultOf(t, cmd, cmd.Wait())
	line := r.expectFail(t, exitFailure, "mariadb")
	w.expectCleanFailure(t, dir, "", nil)
	t.Logf("killed %d dump connections: %s", len(ids), line)
}

// withoutStatus drops the status object a run writes for monitoring, and
// the chunk store's configuration.
func withoutStatus(keys []string) []string {
	var out []string
	for _, k := range keys {
		// The chunk store's configuration and key copies are written once,
		// by the first backup into a repository, whether it succeeds or not.
		if !strings.HasPrefix(k, "status/") && k != chunkstore.ConfigKey && !strings.HasPrefix(k, chunkstore.KeyPrefix) {
			out = append(out, k)
		}
	}
	return out
}
