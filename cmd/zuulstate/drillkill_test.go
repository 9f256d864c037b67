package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/repository"
)

// TestDrillInterrupted: a drill killed with SIGKILL midway (the real
// binary, while it loads the database) leaves its scratch places and its
// record; the next drill removes them first, says so, and passes. A drill
// stopped with SIGTERM midway removes its scratch places itself and exits
// 130. A live drill's record stops another drill (exit 3) before it
// touches anything.
func TestDrillInterrupted(t *testing.T) {
	f := newDrillFixture(t, "")
	q := mariadbtest.QuoteIdent(f.srcDB)
	// Loading this table takes a moment: the signal lands while the drill
	// writes.
	mariadbtest.Exec(t, f.prod, "CREATE TABLE "+q+".zuul_buildset (id INT PRIMARY KEY, uuid VARCHAR(200))")
	mariadbtest.Exec(t, f.prod, "INSERT INTO "+q+".zuul_buildset SELECT seq, REPEAT('x', 200) FROM "+q+".seq_1_to_100000")
	_, prefix := f.backup(t)
	sc := f.scratch(t, prefix)
	untouched := f.prodOnTarget(t)

	r := f.midway(t, sc, syscall.SIGKILL)
	if r.code != -1 {
		t.Fatalf("killed drill: exit %d, want killed\n%s", r.code, r.stderr)
	}
	left := f.present(t, sc)
	for _, want := range []string{"database", "volume", "directory", "record"} {
		if !slices.Contains(left, want) {
			t.Errorf("after SIGKILL: %v present, want %s among them", left, want)
		}
	}
	r = f.run(t, "drill", "--target", "drill")
	r.expectOK(t)
	t.Logf("the drill after the killed one:\n%s", r.stderr)
	inOrder(t, r.stderr, "did not finish", "no longer exists", "removing its scratch places", "database "+sc.database)
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("after the drill that followed the killed one: %v present", got)
	}
	st := readDrillStatus(t, f.repo)
	if st["result"] != "success" || !strings.Contains(fmt.Sprint(st["leftovers_removed"]), sc.database) {
		t.Errorf("status after removing leftovers: %v", st)
	}
	untouched()

	r = f.midway(t, sc, syscall.SIGTERM)
	t.Logf("the drill stopped by SIGTERM:\n%s", r.stderr)
	if r.code != exitInterrupted {
		t.Fatalf("SIGTERM: exit %d, want %d\n%s", r.code, exitInterrupted, r.stderr)
	}
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("after SIGTERM: %v present", got)
	}
	if st := readDrillStatus(t, f.repo); st["result"] != "failure" || !strings.Contains(fmt.Sprint(st["error"]), "interrupted") ||
		st["last_success_snapshot_id"] == nil {
		t.Errorf("status after SIGTERM: %v", st)
	}
	untouched()

	// A record whose holder lives (this test) stops the drill.
	holder := repository.CurrentHolder(hostname(t), time.Hour)
	rec, _ := json.Marshal(map[string]any{"run": "x", "target": "drill", "snapshot_id": "20260101T000000Z-00000000", "holder": holder})
	recPath := filepath.Join(f.repo, "status", "drills", "drill.json")
	if err := os.MkdirAll(filepath.Dir(recPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recPath, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(t, "drill", "--target", "drill").expectFail(t, exitLocked, "another drill of snapshot 20260101T000000Z-00000000", fmt.Sprint("pid ", os.Getpid()))
	if got := f.present(t, sc); !slices.Equal(got, []string{"record"}) {
		t.Errorf("a drill stopped by a live one left %v", got)
	}
	untouched()
}

// midway starts a drill and sends it sig once its scratch database
// exists, while it loads it, and returns how it ended.
func (f *drillFixture) midway(t *testing.T, sc scratch, sig syscall.Signal) result {
	t.Helper()
	cmd := commandWithEnv(t, f.env, "drill", "--target", "drill")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
poll:
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err = <-done:
			t.Fatalf("the drill ended before it could be stopped (%v):\n%s", err, cmd.Stderr)
		default:
		}
		var n int
		if qerr := f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", sc.database).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if n > 0 {
			break poll
		}
		if time.Now().After(deadline) {
			t.Fatal("the drill never created its database")
		}
	}
	if serr := cmd.Process.Signal(sig); serr != nil {
		t.Fatal(serr)
	}
	err = <-done
	r := result{stdout: fmt.Sprint(cmd.Stdout), stderr: fmt.Sprint(cmd.Stderr), code: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return r
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
