package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// TestZooKeeperRestart kills a private ZooKeeper while the backup walks a
// Zuul-sized tree and starts it again on the same port and data. The walk
// retries per node and the backup succeeds with the whole tree (restored
// and compared node by node): never a snapshot with a subtree silently
// missing. The restarts are aimed at the walk by the server's request
// count, not by a clock, so they hit it on any machine.
func TestZooKeeperRestart(t *testing.T) {
	srv := zktest.StartPrivate(t)
	connect := func(chroot string) *zkconn.Client {
		c, err := zkconn.Connect(t.Context(), zkconn.Config{Servers: []string{srv.Addr}, Chroot: chroot, SessionTimeout: 20 * time.Second,
			DigestUser: zktest.DigestUser, DigestPassword: zktest.DigestPassword})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	zktest.Build(t, connect(""), zktest.ZuulTree(zktest.ZuulShape{Projects: 3000, NodepoolNodes: 500, Requests: 200, ZuulNodes: 10, Images: 20}))
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.Mkdir(repo, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, chroot := range []string{"/r1", "/r2"} {
		if _, err := connect("").Create(t.Context(), chroot, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "zuulstate.yaml")
	body := fmt.Sprintf(`repository:
  local: {path: %s}
  lock_ttl: 30s
sources:
  zookeeper:
    servers: [%s]
    session_timeout: 20s
    auth: {user: %s}
restore:
  zookeeper:
    servers: [%s]
    chroot: /r1
`, repo, srv.Addr, zktest.DigestUser, srv.Addr)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"ZUULSTATE_CONFIG=" + cfg, "ZUULSTATE_ZOOKEEPER_PASSWORD=" + zktest.DigestPassword, "ZUULSTATE_ZOOKEEPER_RESTORE_PASSWORD=" + zktest.DigestPassword}

	// The uninterrupted run measures how many requests a backup sends.
	begin, before := time.Now(), srv.Received()
	run(t, env, "backup").expectOK(t, "uninterrupted backup")
	full, requests := time.Since(begin), srv.Received()-before
	if before < 0 || requests < 10_000 {
		t.Fatalf("the server counted %d requests for a whole backup (before: %d)", requests, before)
	}

	for i, share := range []float64{0.25, 0.6} {
		cmd, done := startCounted(t, env)
		stoppedAt := awaitRequests(t, srv, done, int64(share*float64(requests)))
		srv.Stop()
		stopped := time.Now()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		down := time.Since(stopped)
		r := resultOf(t, cmd, <-done)
		r.expectOK(t, fmt.Sprintf("backup with a restart after %d of its %d requests", stoppedAt, requests))
		id := strings.TrimSpace(r.stdout)
		// The snapshot holds the whole tree: restore it and compare.
		chroot := fmt.Sprintf("/r%d", i+1)
		if err := os.WriteFile(cfg, []byte(strings.Replace(body, "chroot: /r1", "chroot: "+chroot, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, env, "restore", id).expectOK(t, "restore")
		src, dst := connect(""), connect(chroot)
		for _, sub := range []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul-system"} {
			if d := zktest.Diff(zktest.Dump(t, src, sub), zktest.Dump(t, dst, sub)); len(d) > 0 {
				t.Fatalf("restart %d: the snapshot differs from the tree in %s: %v", i, sub, d)
			}
		}
		retries := treeRetries(t, env, id)
		if retries == 0 {
			t.Errorf("restart %d: the walk records no retry: the restart did not hit it", i)
		}
		t.Logf("restart %d after %d of %d requests (down %s, %d calls retried): backup complete, tree identical",
			i, stoppedAt, requests, down.Round(time.Millisecond), retries)
	}

	// Down for longer than the walk retries (2 × session_timeout): the run
	// fails naming ZooKeeper and writes no snapshot.
	ids := snapshotIDs(t, env)
	if err := os.WriteFile(cfg, []byte(strings.Replace(body, "session_timeout: 20s", "session_timeout: 2s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, done := startCounted(t, env)
	awaitRequests(t, srv, done, requests/4)
	srv.Stop()
	stopped := time.Now()
	r := resultOf(t, cmd, <-done)
	gaveUp := time.Since(stopped)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	line := r.expectFail(t, exitFailure, "zookeeper")
	if now := snapshotIDs(t, env); len(now) != len(ids) {
		t.Fatalf("a snapshot was written by the failed run: %v", now)
	}
	t.Logf("ZooKeeper down for good: failed after %s: %s", gaveUp.Round(time.Millisecond), line)
	t.Logf("FIGURES zookeeper restarts=2 survived=2 requests_per_backup=%d outage_failed_after=%s full_run=%s",
		requests, gaveUp.Round(time.Millisecond), full.Round(time.Millisecond))
}

// startCounted starts a backup; done gets its Wait result.
func startCounted(t *testing.T, env []string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := command(t, env, "backup")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, done
}

// awaitRequests returns once the server has received n more requests
// (its own polls left out) since it was called, which is how far the
// backup has got; it fails the test if the backup ends first. It returns
// the count reached.
func awaitRequests(t *testing.T, srv *zktest.Private, done <-chan error, n int64) int64 {
	t.Helper()
	base := srv.Received()
	deadline := time.Now().Add(time.Minute)
	for polls := int64(1); ; polls++ {
		if got := srv.Received() - base - polls; got >= n {
			return got
		}
		select {
		case err := <-done:
			t.Fatalf("the backup ended (%v) before the server received %d of its requests", err, n)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not receive %d requests within a minute", n)
		}
	}
}

// treeRetries reads how many ZooKeeper calls the walk retried from the
// tree part's metadata in the manifest.
func treeRetries(t *testing.T, env []string, id string) int64 {
	t.Helper()
	r := run(t, env, "show", id, "--json")
	r.expectOK(t, "show")
	var m struct {
		Parts []struct {
			Source, Name string
			Meta         struct {
				Retries int64 `json:"retries"`
			} `json:"meta"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Parts {
		if p.Source == "zookeeper" && p.Name == "tree" {
			return p.Meta.Retries
		}
	}
	t.Fatal("no zookeeper tree part")
	return 0
}
