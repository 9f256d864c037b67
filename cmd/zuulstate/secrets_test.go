package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/s3"
)

func marker(t *testing.T, what string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "mk-" + what + "-" + hex.EncodeToString(b)
}

// argvWatch records the command line of every process on the machine and
// the command, entrypoint and environment of every container of the test
// engine while commands run, and reports any that holds a marker.
type argvWatch struct {
	mu       sync.Mutex
	leaks    map[string]bool
	procs    map[string]bool
	contains map[string]bool
	commands []string // of the containers inspected
	stop     chan struct{}
	done     chan struct{}
}

func watchArgv(t *testing.T, f *allFixture, markers map[string]string) *argvWatch {
	w := &argvWatch{leaks: map[string]bool{}, procs: map[string]bool{}, contains: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	check := func(where, s string) {
		for name, m := range markers {
			if strings.Contains(s, m) {
				w.mu.Lock()
				w.leaks[fmt.Sprintf("%s in %s: %q", name, where, s)] = true
				w.mu.Unlock()
			}
		}
	}
	ctx := context.WithoutCancel(t.Context())
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			pids, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range pids {
				data, err := os.ReadFile(p)
				if err != nil || len(data) == 0 {
					continue
				}
				cmdline := strings.ReplaceAll(string(data), "\x00", " ")
				w.mu.Lock()
				w.procs[cmdline] = true
				w.mu.Unlock()
				check("argv of pid "+strings.Split(p, "/")[2], cmdline)
			}
			if n%5 != 0 {
				continue
			}
			list, err := f.eng.API.ContainerList(ctx, container.ListOptions{All: true})
			if err != nil {
				continue
			}
			for _, c := range list {
				w.mu.Lock()
				seen := w.contains[c.ID]
				w.contains[c.ID] = true
				w.mu.Unlock()
				if seen {
					continue
				}
				ci, err := f.eng.API.ContainerInspect(ctx, c.ID)
				if err != nil || ci.Config == nil {
					continue
				}
				w.mu.Lock()
				w.commands = append(w.commands, ci.Path+" "+strings.Join(ci.Args, " "))
				w.mu.Unlock()
				check("container "+ci.Name+" command", ci.Path+" "+strings.Join(ci.Args, " ")+" "+strings.Join(ci.Config.Cmd, " ")+" "+strings.Join(ci.Config.Entrypoint, " "))
				check("container "+ci.Name+" environment", strings.Join(ci.Config.Env, " "))
			}
		}
	}()
	return w
}

func (w *argvWatch) finish() []string {
	close(w.stop)
	<-w.done
	return slices.Sorted(maps.Keys(w.leaks))
}

// TestSecretsNeverLeak runs every command with every credential set to a
// marker value that is really used (an S3 repository, a MariaDB user on
// both servers with marker passwords, the ZooKeeper digest password, an
// age identity, a pushgateway that checks its password) and checks that no
// marker appears in any output, log, error, stored manifest or lock,
// `config check` output, metrics, or the command line of any process or
// container started meanwhile.
func TestSecretsNeverLeak(t *testing.T) {
	f := newAllFixture(t)
	ctx := t.Context()

	// S3: the real (random) credentials of the test MinIO are the markers.
	repoYAML, s3env := s3YAML(t)
	markers := map[string]string{
		"s3 access key": strings.TrimPrefix(s3env[0], "ZUULSTATE_S3_ACCESS_KEY="),
		"s3 secret key": strings.TrimPrefix(s3env[1], "ZUULSTATE_S3_SECRET_KEY="),
		"zookeeper":     zkPassword,
		"mariadb":       marker(t, "mariadb"),
		"mariadb dev":   marker(t, "mariadb-dev"),
		"pushgateway":   marker(t, "push"),
	}
	user := "zsmk" + markers["mariadb"][len(markers["mariadb"])-8:]
	for _, s := range []struct {
		db *sql.DB
		pw string
	}{{f.prod, markers["mariadb"]}, {f.dev, markers["mariadb dev"]}} {
		for _, host := range []string{"%", "localhost"} {
			mariadbtest.Exec(t, s.db, "CREATE USER '"+user+"'@'"+host+"' IDENTIFIED BY '"+s.pw+"'")
			mariadbtest.Exec(t, s.db, "GRANT ALL PRIVILEGES ON *.* TO '"+user+"'@'"+host+"'")
			t.Cleanup(func() { _, _ = s.db.Exec("DROP USER IF EXISTS '" + user + "'@'" + host + "'") })
		}
	}

	// A pushgateway that insists on the marker password.
	var pushes, pushLeaks []string
	var pushMu sync.Mutex
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		pushMu.Lock()
		defer pushMu.Unlock()
		if !ok || u != "zuulstate" || p != markers["pushgateway"] {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		pushes = append(pushes, r.Method+" "+r.URL.Path)
		for name, m := range markers {
			if bytes.Contains(body, []byte(m)) || strings.Contains(r.URL.String(), m) {
				pushLeaks = append(pushLeaks, name)
			}
		}
	}))
	defer gw.Close()

	key := filepath.Join(f.dir, "key.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	recipient := strings.TrimSpace(r.stdout)
	identity, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(identity), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			markers["age identity"] = l
		}
	}
	if markers["age identity"] == "" {
		t.Fatal("keygen wrote no identity")
	}
	if strings.Contains(r.stdout+r.stderr, markers["age identity"]) {
		t.Fatal("keygen printed the private key")
	}

	textfile := filepath.Join(f.dir, "zuulstate.prom")
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	pc := mariadbtest.Config(t, "prod")
	c := string(cfg)
	c = strings.Replace(c, "repository:\n  local: {path: "+f.repo+"}\n", repoYAML+"  encryption:\n    recipients: ["+recipient+"]\n", 1)
	c = strings.Replace(c, "    user: "+pc.User+"\n", "    user: "+user+"\n", 1)
	// The engine-API way runs the hidden helper in a container: its
	// command line is inspected too.
	c = strings.Replace(c, "      helper_binary: ", "      mode: api\n      helper_binary: ", 1)
	c += fmt.Sprintf("hooks:\n  pre:\n    - command: [/bin/sh, -c, 'sleep 0.1']\n  post:\n    - command: [/bin/sh, -c, 'sleep 0.1']\n"+
		"metrics:\n  textfile: %s\n  pushgateway:\n    url: %s\n    username: zuulstate\n", textfile, gw.URL)
	if err := os.WriteFile(f.config, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, m := range markers {
		if strings.Contains(c, m) && name != "zookeeper" {
			t.Fatalf("test bug: marker %s is in the config file", name)
		}
	}
	env := append(f.env[:1:1], s3env...)
	env = append(env, "DOCKER_HOST="+testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_HOST"),
		"ZUULSTATE_ZOOKEEPER_PASSWORD="+markers["zookeeper"],
		"ZUULSTATE_MARIADB_PASSWORD="+markers["mariadb"],
		"ZUULSTATE_MARIADB_RESTORE_PASSWORD="+markers["mariadb dev"],
		"ZUULSTATE_PUSHGATEWAY_PASSWORD="+markers["pushgateway"],
		"ZUULSTATE_AGE_IDENTITY="+markers["age identity"])
	f.env = env

	watch := watchArgv(t, f, markers)
	var outputs []string
	runs := 0
	do := func(wantOK bool, args ...string) result {
		t.Helper()
		r := f.run(t, args...)
		if wantOK {
			r.expectOK(t)
		} else if r.code == 0 {
			t.Fatalf("%v succeeded, want a failure", args)
		}
		runs++
		outputs = append(outputs, fmt.Sprintf("zuulstate %s (exit %d):\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr))
		return r
	}
	do(true, "config", "check")
	do(true, "config", "check", "--connect")
	do(true, "backup", "--verbose")
	do(true, "backup", "--tag", "second")
	ids := snapshotIDs(t, f.fixture)
	if len(ids) != 2 {
		t.Fatalf("snapshots: %v", ids)
	}
	do(true, "snapshots")
	do(true, "show", "latest")
	do(true, "verify", "--all", "--deep", "--verbose")
	do(true, "diff", ids[0], ids[1], "--details")
	if r := do(true, "restore", "latest", "--target", "dev", "--verbose"); !strings.Contains(r.stdout, "api way") {
		t.Errorf("the volumes restore did not use the helper container:\n%s", r.stdout)
	}
	do(true, "check")
	do(true, "prune", "--keep-last", "1", "--verbose")
	do(true, "unlock")
	// Failures carry the most detail: a wrong password on each side.
	f.env = append(env[:len(env):len(env)], "ZUULSTATE_MARIADB_RESTORE_PASSWORD=wrong-"+markers["mariadb dev"])
	do(false, "restore", "latest", "--target", "dev", "--force")
	f.env = append(env[:len(env):len(env)], "ZUULSTATE_S3_SECRET_KEY=wrong-"+markers["s3 secret key"])
	do(false, "snapshots")
	f.env = env
	leaks := watch.finish()

	// The markers were really used.
	pushMu.Lock()
	if len(pushes) == 0 {
		t.Error("the pushgateway never received metrics with the right password")
	}
	for _, name := range pushLeaks {
		t.Errorf("pushed metrics contain the %s", name)
	}
	pushMu.Unlock()
	if !zktest.Exists(t, f.devZK.Connect(t, f.dchr), "/keystorage") {
		t.Error("the restore did not reach ZooKeeper")
	}

	// Where a secret could end up.
	for _, o := range outputs {
		for name, m := range markers {
			if strings.Contains(o, m) {
				t.Errorf("%s appears in the output of %s", name, strings.SplitN(o, "\n", 2)[0])
			}
		}
	}
	if data, err := os.ReadFile(textfile); err != nil {
		t.Errorf("metrics textfile: %v", err)
	} else {
		leaks = append(leaks, grepMarkers("metrics textfile", string(data), markers)...)
	}
	leaks = append(leaks, storedObjectLeaks(t, ctx, markers)...)
	for _, l := range leaks {
		t.Error("secret leaked: " + l)
	}
	watch.mu.Lock()
	t.Logf("%d commands run with %d markers; %d distinct process command lines and %d containers inspected; %d pushes",
		runs, len(markers), len(watch.procs), len(watch.contains), len(pushes))
	t.Logf("container commands seen: %q", watch.commands)
	watch.mu.Unlock()
}

func grepMarkers(where, s string, markers map[string]string) []string {
	var out []string
	for name, m := range markers {
		if strings.Contains(s, m) {
			out = append(out, fmt.Sprintf("%s in %s", name, where))
		}
	}
	return out
}

// storedObjectLeaks reads every manifest and lock object under the test's
// S3 prefix.
func storedObjectLeaks(t *testing.T, ctx context.Context, markers map[string]string) []string {
	t.Helper()
	repoYAML, _ := s3YAML(t)
	prefix := ""
	for _, l := range strings.Split(repoYAML, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "prefix: "); ok {
			prefix = p
		}
	}
	store, err := s3.New(ctx, s3.Config{
		Endpoint: testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"), Bucket: testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"),
		Prefix: prefix, Region: testenv.Lookup(t, "ZUULSTATE_TEST_S3_REGION"), CAFile: testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"),
		AccessKey: testenv.Lookup(t, "ZUULSTATE_TEST_S3_ACCESS_KEY"), SecretKey: testenv.Lookup(t, "ZUULSTATE_TEST_S3_SECRET_KEY"), Lookup: "path",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var keys []string
		_ = store.List(cctx, "", func(oi storage.ObjectInfo) error { keys = append(keys, oi.Key); return nil })
		for _, k := range keys {
			_ = store.Delete(cctx, k)
		}
	})
	var leaks []string
	n := 0
	err = store.List(ctx, "", func(oi storage.ObjectInfo) error {
		if strings.HasPrefix(oi.Key, snapshot.PartPrefix) {
			return nil // compressed and encrypted: nothing to grep
		}
		rc, err := store.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		n++
		leaks = append(leaks, grepMarkers("stored object "+oi.Key, string(data), markers)...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no manifest found in the repository")
	}
	t.Logf("%d stored manifests and control objects read", n)
	return leaks
}
