package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
)

// jobFixture is a paths source plus the job settings under test: hooks
// logging their environment, the metrics textfile and retention.
type jobFixture struct {
	*fixture
	prom, hookLog string
	sources       string // more YAML under sources:
}

func newJobFixture(t *testing.T, extra string) *jobFixture {
	t.Helper()
	f := &jobFixture{fixture: newFixture(t, "")}
	f.prom = filepath.Join(f.dir, "textfile", "zuulstate.prom")
	f.hookLog = filepath.Join(f.dir, "hooks.log")
	if err := os.MkdirAll(filepath.Dir(f.prom), 0o755); err != nil {
		t.Fatal(err)
	}
	f.write(t, extra)
	return f
}

func (f *jobFixture) write(t *testing.T, extra string) {
	t.Helper()
	f.writeConfig(t, fmt.Sprintf(`host: testhost
repository:
  local:
    path: %s
sources:
  paths:
    - name: data
      path: %s
%shooks:
  post:
    - command: [/bin/sh, -c, 'echo "post $ZUULSTATE_RESULT $ZUULSTATE_SNAPSHOT_ID $ZUULSTATE_ERROR" >> %s']
metrics:
  textfile: %s
%s`, f.repo, f.data, f.sources, f.hookLog, f.prom, extra))
}

func (f *jobFixture) manifests(t *testing.T) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(f.repo, "manifests"))
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	return out
}

// objects counts the files under repo/sub (parts, locks, ...).
func (f *jobFixture) objects(t *testing.T, sub string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(f.repo, sub), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustContain(t *testing.T, what, s string, fragments ...string) {
	t.Helper()
	for _, fr := range fragments {
		if !strings.Contains(s, fr) {
			t.Fatalf("%s lacks %q:\n%s", what, fr, s)
		}
	}
}

// One real source fails (MariaDB: no such database) while another (a
// paths source big enough to still be running) works: nothing is left,
// the error line names mariadb, and the run is recorded as failed.
func TestBackupJobSourceFailureAllOrNothing(t *testing.T) {
	pc := mariadbtest.Config(t, "prod")
	f := newJobFixture(t, "")
	big := make([]byte, 32<<20)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(f.data, "big.bin"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(f.dir, "mariadb.password")
	if err := os.WriteFile(pw, []byte(pc.Passwd), 0o600); err != nil {
		t.Fatal(err)
	}
	f.sources = fmt.Sprintf("  mariadb:\n    addr: %s\n    user: %s\n    password_file: %s\n    databases: [zs_job_no_such_db_%d]\n",
		pc.Addr, pc.User, pw, os.Getpid())
	f.write(t, "")

	r := f.run(t, "backup")
	r.expectFail(t, 1, "backup failed: source mariadb", "zs_job_no_such_db")
	if strings.Contains(r.stderr, "source paths") {
		t.Fatalf("the cancelled paths source is reported as a cause:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout after failure: %q", r.stdout)
	}
	if m := f.manifests(t); len(m) != 0 || f.objects(t, "parts") != 0 || f.objects(t, "locks") != 0 {
		t.Fatalf("left behind: manifests %v, %d parts, %d locks", m, f.objects(t, "parts"), f.objects(t, "locks"))
	}
	status := fileText(t, filepath.Join(f.repo, "status", "last-run.json"))
	mustContain(t, "status", status, `"result": "failure"`, "source mariadb",
		// paths was still running when mariadb failed, and was cancelled
		"\"source\": \"paths\",\n      \"ok\": false")
	if strings.Contains(status, pc.Passwd) {
		t.Fatal("the status object contains the database password")
	}
	mustContain(t, "textfile", fileText(t, f.prom), "zuulstate_backup_last_success 0\n", `zuulstate_backup_source_success{source="mariadb"} 0`)
	mustContain(t, "post hook log", fileText(t, f.hookLog), "post failure  backup failed: source mariadb")
}

// A successful run under --quiet prints nothing at all, in both log formats.
func TestBackupJobQuiet(t *testing.T) {
	f := newJobFixture(t, "")
	for _, args := range [][]string{{"backup", "--quiet"}, {"--log-format", "json", "-q", "backup", "--tag", "nightly"}} {
		r := f.run(t, args...)
		r.expectOK(t)
		if r.stdout != "" || r.stderr != "" {
			t.Fatalf("%v printed stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	if n := len(f.manifests(t)); n != 2 {
		t.Fatalf("%d snapshots", n)
	}
	prom := fileText(t, f.prom)
	mustContain(t, "textfile", prom, "zuulstate_backup_last_success 1\n", `zuulstate_backup_source_raw_bytes{source="paths"}`, "zuulstate_repository_snapshots 2\n")
	// Without --quiet the id is the only line on stdout.
	r := f.run(t, "backup")
	r.expectOK(t)
	id := strings.TrimSuffix(r.stdout, "\n")
	if strings.Count(r.stdout, "\n") != 1 || !slices.Contains(f.manifests(t), id) {
		t.Fatalf("stdout %q, want the new id", r.stdout)
	}
	mustContain(t, "post hook log", fileText(t, f.hookLog), "post success "+id+" \n")
}

func TestBackupJobPrune(t *testing.T) {
	f := newJobFixture(t, "")
	r := f.run(t, "backup", "--prune")
	r.expectFail(t, 2, "--prune needs a retention policy")
	if len(f.manifests(t)) != 0 {
		t.Fatal("a usage error wrote a snapshot")
	}
	f.write(t, "retention:\n  keep_last: 2\n")
	for range 3 {
		f.run(t, "backup", "-q").expectOK(t)
		time.Sleep(1100 * time.Millisecond) // snapshot ids have second resolution
	}
	r = f.run(t, "backup", "-q", "--prune")
	r.expectOK(t)
	ids := f.manifests(t)
	if len(ids) != 2 {
		t.Fatalf("after --prune with keep_last 2: %v", ids)
	}
	if f.objects(t, "parts") != 2 || f.objects(t, "locks") != 0 {
		t.Fatalf("%d parts, %d locks", f.objects(t, "parts"), f.objects(t, "locks"))
	}
}

func TestBackupJobHooks(t *testing.T) {
	f := newJobFixture(t, "")
	order := filepath.Join(f.dir, "order.log")
	f.write(t, "")
	body := strings.Replace(fileText(t, f.config), "hooks:\n", fmt.Sprintf(`hooks:
  pre:
    - command: [/bin/sh, -c, 'echo pre1 >> %[1]s']
    - command: [/bin/sh, -c, 'echo "cannot enter maintenance mode" >&2; exit 4']
    - command: [/bin/sh, -c, 'echo pre3 >> %[1]s']
`, order), 1)
	f.writeConfig(t, body)
	r := f.run(t, "backup")
	r.expectFail(t, 1, "pre hook /bin/sh", "exit status 4", "cannot enter maintenance mode")
	if fileText(t, order) != "pre1\n" {
		t.Fatalf("hooks after the failed pre hook ran: %q", fileText(t, order))
	}
	if len(f.manifests(t)) != 0 || f.objects(t, "parts") != 0 {
		t.Fatal("a failed pre hook still wrote a snapshot")
	}
	mustContain(t, "post hook log", fileText(t, f.hookLog), "post failure  backup failed")

	// A pre hook that outlives its timeout is killed and aborts the run.
	body = strings.Replace(fileText(t, f.config), "exit 4']", "exit 4']\n      timeout: 1ms", 1)
	body = strings.Replace(body, `'echo "cannot enter maintenance mode" >&2; exit 4'`, `'sleep 30'`, 1)
	f.writeConfig(t, body)
	start := time.Now()
	r = f.run(t, "backup")
	r.expectFail(t, 1, "pre hook /bin/sh", "timed out")
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the timed-out hook held the run for %s", d)
	}
}

func TestBackupJobPushgateway(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s %s:%s %d", r.Method, r.URL.Path, u, p, len(b)))
		mu.Unlock()
	}))
	defer srv.Close()
	f := newJobFixture(t, "  pushgateway:\n    url: "+srv.URL+"\n    username: zuulstate\n")
	f.env = append(f.env, "ZUULSTATE_PUSHGATEWAY_PASSWORD=pg-pass")
	r := f.run(t, "backup", "-q")
	r.expectOK(t)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "PUT /metrics/job/zuulstate/instance/testhost zuulstate:pg-pass ") || strings.HasSuffix(got[0], " 0") {
		t.Fatalf("pushgateway got %q", got)
	}

	// An unreachable gateway fails an otherwise good run, after the snapshot.
	srv.Close()
	r = f.run(t, "backup", "-q")
	r.expectFail(t, 1, "written, but reporting the run failed", "push metrics to "+srv.URL)
	if strings.Contains(r.stderr, "pg-pass") {
		t.Fatal("the pushgateway password is in the output")
	}
}

func TestCheckCommand(t *testing.T) {
	f := newJobFixture(t, "")
	nagios := func(args []string, code int, fragments ...string) {
		t.Helper()
		r := f.run(t, append([]string{"check"}, args...)...)
		if r.code != code {
			t.Fatalf("check %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
		}
		if strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
			t.Fatalf("check %v: want one line on stdout and nothing on stderr, got %q / %q", args, r.stdout, r.stderr)
		}
		mustContain(t, "check output", r.stdout, fragments...)
	}
	nagios(nil, 2, "ZUULSTATE CRITICAL - no snapshot in local:"+f.repo)
	f.run(t, "backup", "-q").expectOK(t)
	id := f.manifests(t)[0]
	nagios([]string{"--max-age", "26h"}, 0, "ZUULSTATE OK - newest verified snapshot "+id+" is ", "| age=")
	time.Sleep(2100 * time.Millisecond)
	nagios([]string{"--max-age", "1s"}, 2, "ZUULSTATE CRITICAL - newest verified snapshot "+id+" is 2s old (max 1s)")
	nagios([]string{"--max-age", "1h", "--warn-age", "1s"}, 1, "ZUULSTATE WARNING")
	nagios([]string{"--max-age", "soon"}, 3, "ZUULSTATE UNKNOWN - invalid argument")

	// A failed run makes it CRITICAL even though the snapshot is fresh.
	body := strings.Replace(fileText(t, f.config), "hooks:\n", "hooks:\n  pre:\n    - command: [/bin/false]\n", 1)
	f.writeConfig(t, body)
	f.run(t, "backup", "-q").expectFail(t, 1, "pre hook /bin/false")
	nagios(nil, 2, "ZUULSTATE CRITICAL - newest verified snapshot "+id, "; last backup run at ", "failed: pre hook /bin/false")

	// An unreachable repository is UNKNOWN, not CRITICAL.
	f.writeConfig(t, "repository:\n  s3:\n    endpoint: 127.0.0.1:1\n    bucket: b\n    insecure: true\n    retries: 1\n"+
		"    access_key: a\n    secret_key: s\nsources:\n  paths:\n    - name: data\n      path: "+f.data+"\n")
	nagios(nil, 3, "ZUULSTATE UNKNOWN - ")
	// So is a broken configuration.
	f.writeConfig(t, "repository: {}\n")
	nagios(nil, 3, "ZUULSTATE UNKNOWN - invalid configuration")
}

// SIGTERM during a pre hook: the hook's process group is stopped, post
// hooks still run, the failure is recorded and the exit code says
// interrupted.
func TestBackupJobInterruptedInHook(t *testing.T) {
	f := newJobFixture(t, "")
	started := filepath.Join(f.dir, "started")
	body := strings.Replace(fileText(t, f.config), "hooks:\n", fmt.Sprintf("hooks:\n  pre:\n    - command: [/bin/sh, -c, 'touch %s; sleep 60']\n", started), 1)
	f.writeConfig(t, body)
	cmd := commandWithEnv(t, f.env, "backup", "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pre hook did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\nstderr: %s", err, exitInterrupted, cmd.Stderr)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("took %s to stop", d)
	}
	mustContain(t, "stderr", fmt.Sprint(cmd.Stderr), "zuulstate: error: interrupted by signal", "pre hook /bin/sh")
	mustContain(t, "post hook log", fileText(t, f.hookLog), "post failure ")
	mustContain(t, "status", fileText(t, filepath.Join(f.repo, "status", "last-run.json")), `"result": "failure"`)
	if len(f.manifests(t)) != 0 {
		t.Fatal("snapshot written after SIGTERM")
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(12300*time.Millisecond, []backup.SourceSummary{
		{Source: "mariadb", Running: true, RawBytes: 3 << 30},
		{Source: "zookeeper", RawBytes: 117826},
		{Source: "paths", RawBytes: 10, Err: errors.New("x")},
	})
	if want := "backup 12s  mariadb 3.0 GiB  zookeeper 115.1 KiB done  paths 10 B failed"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	var out strings.Builder
	s := &statusLine{w: &out}
	s.show("backup 1s")
	fmt.Fprintln(s, "a log line")
	s.show("backup 2s")
	s.clear()
	if want := "\r\033[Kbackup 1s\r\033[Ka log line\n\r\033[Kbackup 2s\r\033[K"; out.String() != want {
		t.Fatalf("terminal output %q, want %q", out.String(), want)
	}
}
