package repository

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/snapshot"
)

func TestHolderGone(t *testing.T) {
	me := &Process{Machine: "m1", Boot: "b1", PIDNamespace: "pid:[1]", Start: 100}
	holder := Process{Machine: "m1", Boot: "b1", PIDNamespace: "pid:[1]", Start: 500}
	running := func(start uint64) func(int) *Process {
		return func(int) *Process { return &Process{Machine: "m1", Boot: "b1", PIDNamespace: "pid:[1]", Start: start} }
	}
	none := func(int) *Process { return nil }
	with := func(edit func(*Process)) *Process { p := holder; edit(&p); return &p }
	cases := []struct {
		name    string
		host    string
		process *Process
		me      *Process
		lookup  func(int) *Process
		gone    bool
	}{
		{"process exists", "here", &holder, me, running(500), false},
		{"process gone", "here", &holder, me, none, true},
		{"pid reused by a later process", "here", &holder, me, running(900), true},
		{"another host", "there", &holder, me, none, false},
		{"no identity recorded (older zuulstate)", "here", nil, me, none, false},
		{"this process's identity unknown", "here", &holder, nil, none, false},
		{"another pid namespace (a container)", "here", with(func(p *Process) { p.PIDNamespace = "pid:[2]" }), me, none, false},
		{"machine restarted", "here", with(func(p *Process) { p.Boot = "b0" }), me, running(500), true},
		{"another machine with the same host name", "here", with(func(p *Process) { p.Boot, p.Machine = "b7", "m2" }), me, none, false},
		{"another boot, machine unknown", "here", with(func(p *Process) { p.Boot, p.Machine = "b0", "" }), me, none, false},
	}
	for _, c := range cases {
		l := LockInfo{Host: "here", PID: 4242, Process: c.process}
		gone, why := holderGone(l, c.host, c.me, c.lookup)
		if gone != c.gone || gone != (why != "") {
			t.Errorf("%s: gone %v (%q), want %v", c.name, gone, why, c.gone)
		}
	}
}

// TestDeadHolderLock: a lock of this host whose process was SIGKILLed does
// not block the next run, which logs a warning and takes it over; a lock
// whose pid now belongs to another process is stale as well; a live
// holder's and another host's lock still block until their TTL.
func TestDeadHolderLock(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process identities are read from /proc")
	}
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	sleeper := exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	live := processOf(sleeper.Process.Pid)
	if live == nil || live.Start == 0 || *self() == *live {
		t.Fatalf("identity of a running process: %+v (this one: %+v)", live, self())
	}
	now := time.Now().UTC()
	lockOf := func(name, host string, pid int, p *Process) LockInfo {
		return LockInfo{Key: snapshot.LockPrefix + name + ".json", Host: host, PID: pid, Operation: "backup",
			Created: now, Refreshed: now, TTL: Duration(time.Hour), Held: true, Process: p}
	}
	var logs bytes.Buffer
	lock := func(name string, l LockInfo) error {
		t.Helper()
		if err := repo.putLock(ctx, l); err != nil {
			t.Fatal(err)
		}
		held, _, err := repo.Lock(ctx, LockOptions{Operation: "backup", Host: "here",
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err == nil {
			if err := held.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_ = repo.store.Delete(ctx, l.Key)
		return err
	}

	if err := lock("live", lockOf("live", "here", sleeper.Process.Pid, live)); !errors.Is(err, ErrLocked) {
		t.Fatalf("the lock of a running process: got %v, want ErrLocked", err)
	}
	reused := *live
	reused.Start++
	if err := lock("reused", lockOf("reused", "here", sleeper.Process.Pid, &reused)); err != nil {
		t.Fatalf("a lock whose pid belongs to a later process: %v", err)
	}
	if err := sleeper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sleeper.Wait()
	dead := lockOf("dead", "here", sleeper.Process.Pid, live)
	if err := lock("dead", dead); err != nil {
		t.Fatalf("the lock of a killed process: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "no longer exists") {
		t.Fatalf("no warning for the taken-over lock:\n%s", logs.String())
	}
	if err := lock("other", lockOf("other", "there", sleeper.Process.Pid, live)); !errors.Is(err, ErrLocked) {
		t.Fatalf("the lock of another host: got %v, want ErrLocked", err)
	}

	// unlock removes the dead holder's lock, not a live one's.
	if err := repo.putLock(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := repo.putLock(ctx, lockOf("self", "here", os.Getpid(), self())); err != nil {
		t.Fatal(err)
	}
	removed, err := repo.RemoveLocks(ctx, "here", false)
	if err != nil || len(removed) != 1 || removed[0].Key != dead.Key {
		t.Fatalf("RemoveLocks removed %v (%v), want only the dead holder's lock", removed, err)
	}
}
