package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/backup/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/internal/zktest"
)

// TestZooKeeperRestart kills a private ZooKeeper while the backup walks a
// Zuul-sized tree and starts it again on the same port and data. The walk
// retries per node and the backup succeeds with the whole tree (restored
// and compared node by node), or it fails naming ZooKeeper: never a
// snapshot with a subtree silently missing.
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

	begin := time.Now()
	run(t, env, "backup").expectOK(t, "uninterrupted backup")
	full := time.Since(begin)

	var survived, failed int
	for i, into := range []int{200, 3000} {
		// Stop the server a moment into the walk: once the backup's
		// connection has sent this many requests. (Not a time after it
		// connected: between the connection and the walk, a format 3
		// backup first loads the repository's index.)
		base := srv.Requests()
		cmd, _ := start(t, env, "backup")
		for deadline := time.Now().Add(60 * time.Second); srv.Requests() < base+into; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the backup never sent %d requests", into)
			}
		}
		srv.Stop()
		stopped := time.Now()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		down := time.Since(stopped)
		r := resultOf(t, cmd, cmd.Wait())
		if r.code != 0 {
			r.expectFail(t, exitFailure, "zookeeper")
			failed++
			t.Logf("restart %d (down %s): failed clearly: %s", i, down.Round(time.Millisecond), lastLine(r.stderr))
			continue
		}
		survived++
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
		t.Logf("restart %d (down %s, %d calls retried): backup complete, tree identical", i, down.Round(time.Millisecond), retries)
	}

	// Down for longer than the walk retries (2 × session_timeout): the run
	// fails naming ZooKeeper and writes no snapshot.
	before := snapshotIDs(t, env)
	if err := os.WriteFile(cfg, []byte(strings.Replace(body, "session_timeout: 20s", "session_timeout: 2s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	base := srv.Requests()
	cmd, _ := start(t, env, "backup")
	for deadline := time.Now().Add(60 * time.Second); srv.Requests() < base+200; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the backup never walked") // into the walk
		}
	}
	srv.Stop()
	stopped := time.Now()
	r := resultOf(t, cmd, cmd.Wait())
	gaveUp := time.Since(stopped)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	line := r.expectFail(t, exitFailure, "zookeeper")
	if ids := snapshotIDs(t, env); len(ids) != len(before) {
		t.Fatalf("a snapshot was written by the failed run: %v", ids)
	}
	t.Logf("ZooKeeper down for good: failed after %s: %s", gaveUp.Round(time.Millisecond), line)
	t.Logf("FIGURES zookeeper restarts=%d survived=%d failed_clearly=%d outage_failed_after=%s full_run=%s",
		survived+failed, survived, failed, gaveUp.Round(time.Millisecond), full.Round(time.Millisecond))
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
