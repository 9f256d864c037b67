package zookeeper_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	bzk "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/restore"
	. "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// zuulSetup backs up a small Zuul-shaped tree (profile all, so /zuul too)
// and returns the sink and an empty dev target.
func zuulSetup(t *testing.T, profile string) (*zktest.Sink, *zkconn.Client, zkconn.Config, []*zktree.Node) {
	t.Helper()
	prod, dev := zktest.Server{Which: "prod"}, zktest.Server{Which: "dev"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	zktest.Build(t, pc, zktest.ZuulTree(zktest.ZuulShape{Projects: 50, NodepoolNodes: 30, Requests: 30, ZuulNodes: 20, Images: 3}))
	sink := backupOf(t, bzk.Config{Conn: src, Profile: profile})
	dst := dev.Config(t, dev.Chroot(t))
	dc, _ := zkconnect(t, dst)
	return sink, dc, dst, zktest.Dump(t, pc, "/")
}

func TestNotEmptyForceWipe(t *testing.T) {
	sink, dc, dst, _ := zuulSetup(t, zktree.ProfileZuul)
	var rr restoreRun
	if err := rr.do(t, Config{Conn: dst}, sink); err != nil {
		t.Fatal(err)
	}
	want := zktest.Dump(t, dc, "/keystorage")
	if _, err := dc.Create(t.Context(), "/keystorage/extra", []byte("dev only"), 0, zktest.Open); err != nil {
		t.Fatal(err)
	}
	secret := "/keystorage/gerrit/org0000/project-000000/secrets"
	if err := dc.Do(t.Context(), func(z *zk.Conn) error { _, err := z.Set(dc.Abs(secret), []byte("changed"), -1); return err }); err != nil {
		t.Fatal(err)
	}

	err := rr.do(t, Config{Conn: dst}, sink)
	if !errors.Is(err, restore.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "/keystorage") {
		t.Fatalf("got %v, want ErrTargetNotEmpty naming /keystorage", err)
	}

	rr = restoreRun{}
	if err := rr.do(t, Config{Conn: dst, Force: true}, sink); err != nil {
		t.Fatalf("force: %v\n%s", err, rr.out.String())
	}
	got := zktest.Dump(t, dc, "/keystorage")
	// The extra node stays and counts as one more child created under it.
	if diff := zktest.Diff(want, got); len(diff) != 2 || diff[0] != "/: sequence counter 3, want 2" || diff[1] != "extra /extra" {
		t.Fatalf("after merge: %v", diff)
	}
	if !strings.Contains(rr.out.String(), "1 other nodes in the target") {
		t.Fatalf("merge summary: %s", rr.out.String())
	}

	rr = restoreRun{}
	if err := rr.do(t, Config{Conn: dst, Wipe: true}, sink); err != nil {
		t.Fatalf("wipe: %v", err)
	}
	if diff := zktest.Diff(want, zktest.Dump(t, dc, "/keystorage")); len(diff) > 0 {
		t.Fatalf("after wipe: %v", diff)
	}
}

// Each profile restores what it should. dev is an allow-list: the keys
// and what the configuration includes, every other subtree of the
// snapshot skipped in the plan and named in a warning. dr restores
// everything but Zuul's runtime state /zuul, unless an include names it.
func TestProfiles(t *testing.T) {
	prod, dev := zktest.Server{Which: "prod"}, zktest.Server{Which: "dev"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	zktest.Build(t, pc, append(zktest.ZuulTree(zktest.ZuulShape{Projects: 5, NodepoolNodes: 3, Requests: 3, ZuulNodes: 5, Images: 1}),
		zktest.Spec{Path: "/other-app", Data: []byte("not Zuul's")}))
	sink := backupOf(t, bzk.Config{Conn: src, Profile: zktree.ProfileAll})
	dst := dev.Config(t, dev.Chroot(t))
	dc, _ := zkconnect(t, dst)
	everything := []string{"/keystorage/github/org0000/project-000001/ssh", "/keystorage-oidc/RS256", "/zuul/tenant", "/nodepool/nodes",
		"/zuul-system/system_id", "/other-app"}
	expect := func(name string, want ...string) {
		t.Helper()
		for _, p := range everything {
			if zktest.Exists(t, dc, p) != slices.Contains(want, p) {
				t.Errorf("%s: %s exists: %v", name, p, !slices.Contains(want, p))
			}
		}
	}
	planOf := func(cfg Config) string {
		r := New(cfg)
		defer r.Close()
		return strings.Join(r.Plan(sink.Parts()), "\n")
	}

	cfg := Config{Conn: dst, Profile: ProfileDev}
	plan := planOf(cfg)
	for _, line := range []string{"create /keystorage on", "create /keystorage-oidc on", "skip /nodepool (profile dev)", "skip /other-app (profile dev)",
		"skip /zuul (profile dev)", "skip /zuul-system (profile dev)", "profile dev restores only /keystorage and /keystorage-oidc"} {
		if !strings.Contains(plan, line) {
			t.Errorf("dev plan lacks %q:\n%s", line, plan)
		}
	}
	var rr restoreRun
	if err := rr.do(t, cfg, sink); err != nil {
		t.Fatal(err)
	}
	expect("profile dev", everything[0], everything[1])
	if log := rr.log.String(); !strings.Contains(log, "not restored: /nodepool, /other-app, /zuul, /zuul-system") || !strings.Contains(log, "runtime state") {
		t.Fatalf("no warning naming the skipped subtrees:\n%s", log)
	}

	rr = restoreRun{}
	if err := rr.do(t, Config{Conn: dst, Profile: ProfileDev, Include: []string{"/other-app"}, Wipe: true}, sink); err != nil {
		t.Fatal(err)
	}
	expect("profile dev with an include", everything[0], everything[1], "/other-app")

	cfg = Config{Conn: dst, Profile: ProfileDR, Wipe: true}
	if plan := planOf(cfg); !strings.Contains(plan, "skip /zuul (Zuul's runtime state, which Zuul rebuilds; include /zuul to restore it)") {
		t.Errorf("dr plan does not say why /zuul is skipped:\n%s", plan)
	}
	rr = restoreRun{}
	if err := rr.do(t, cfg, sink); err != nil {
		t.Fatal(err)
	}
	expect("profile dr", everything[0], everything[1], "/nodepool/nodes", "/zuul-system/system_id", "/other-app")

	rr = restoreRun{}
	if err := rr.do(t, Config{Conn: dst, Profile: ProfileDR, Include: []string{"/zuul"}}, sink); err != nil {
		t.Fatal(err)
	}
	expect("profile dr including /zuul", everything...)
}

// Include, exclude and path_map select and move subtrees; parents that
// are missing in the target are created.
func TestIncludeExcludePathMap(t *testing.T) {
	sink, dc, dst, src := zuulSetup(t, zktree.ProfileZuul)
	var rr restoreRun
	cfg := Config{Conn: dst, Include: []string{"/keystorage/gerrit", "/nodepool/images"}, Exclude: []string{"/keystorage/gerrit/org0000/project-000002"},
		PathMap: map[string]string{"/keystorage": "/copy/keys"}}
	if err := rr.do(t, cfg, sink); err != nil {
		t.Fatalf("%v\n%s", err, rr.out.String())
	}
	if !zktest.Exists(t, dc, "/copy/keys/gerrit/org0000/project-000000/secrets") || zktest.Exists(t, dc, "/copy/keys/gerrit/org0000/project-000002") ||
		zktest.Exists(t, dc, "/copy/keys/github") || !zktest.Exists(t, dc, "/nodepool/images/ubuntu-0002/upload-2") || zktest.Exists(t, dc, "/nodepool/nodes") {
		t.Fatal("wrong selection restored")
	}
	out := rr.out.String()
	if !strings.Contains(out, "/keystorage/gerrit → /copy/keys/gerrit") || !strings.Contains(out, "digest not compared (subtree restored in part)") {
		t.Fatalf("summary:\n%s", out)
	}
	_ = src
}

// A node too big for the target, or with a name the server refuses, fails
// the restore before anything is written.
func TestRefusedBeforeWriting(t *testing.T) {
	sink, dc, dst, _ := zuulSetup(t, zktree.ProfileZuul)
	var rr restoreRun
	err := rr.do(t, Config{Conn: dst, MaxRequestBytes: 300}, sink)
	if err == nil || !strings.Contains(err.Error(), "over the target's limit of 300") || !strings.Contains(err.Error(), "max_request_bytes") {
		t.Fatalf("got %v", err)
	}
	err = rr.do(t, Config{Conn: dst, PathMap: map[string]string{"/nodepool": "/nodepool-\U0001F600"}}, sink)
	if err == nil || !strings.Contains(err.Error(), "not a path to restore to") {
		t.Fatalf("got %v", err)
	}
	// A snapshot (written by hand here) with a name outside the Basic
	// Multilingual Plane, which the server refuses: named, not dropped.
	var buf bytes.Buffer
	enc, _ := zktree.NewEncoder(&buf, zktree.Header{Format: 1, Roots: []string{"/keystorage"}})
	for _, p := range []string{"/keystorage", "/keystorage/emoji-\U0001F600", "/keystorage/emoji-\U0001F600/x"} {
		if _, err := enc.Node(&zktree.Record{Path: p, ACL: zktest.Open}); err != nil {
			t.Fatal(err)
		}
	}
	_ = enc.Close(zktree.Trailer{Nodes: 3})
	meta, _ := json.Marshal(zktree.TreeMeta{Format: 1, Nodes: 3, Roots: []zktree.RootMeta{{Path: "/keystorage", Nodes: 3}}})
	crafted := &zktest.Sink{Source: zktree.SourceName}
	crafted.Set(snapshot.Part{Source: zktree.SourceName, Name: zktree.TreePart, Meta: meta}, buf.Bytes())
	err = rr.do(t, Config{Conn: dst}, crafted)
	if err == nil || !strings.Contains(err.Error(), "/keystorage/emoji-\U0001F600") || !strings.Contains(err.Error(), "outside the Basic Multilingual Plane") {
		t.Fatalf("got %v", err)
	}
	for _, p := range []string{"/keystorage", "/nodepool", "/nodepool-\U0001F600"} {
		if ok, _, _ := dc.Exists(t.Context(), p); ok {
			t.Fatalf("%s was written", p)
		}
	}
}

// Counters far above the number of children are advanced in few multis.
func TestLargeSequenceCounter(t *testing.T) {
	prod, dev := zktest.Server{Which: "prod"}, zktest.Server{Which: "dev"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	zktest.Build(t, pc, []zktest.Spec{{Path: "/nodepool"}, {Path: "/nodepool/requests"}})
	for round := range 6 {
		var ops []any
		for range 1000 {
			ops = append(ops, &zk.CreateRequest{Path: "/nodepool/requests/100-", Acl: zktest.Open, Flags: zk.FlagSequence})
		}
		for i := range 1000 {
			if i%250 != 0 || round < 5 {
				ops = append(ops, &zk.DeleteRequest{Path: fmt.Sprintf("/nodepool/requests/100-%010d", round*1000+i), Version: -1})
			}
		}
		if res, err := pc.Multi(t.Context(), -1, ops); err != nil {
			t.Fatal(zkconn.MultiError(ops, res, err))
		}
	}
	sink := backupOf(t, bzk.Config{Conn: src})
	dst := dev.Config(t, dev.Chroot(t))
	var rr restoreRun
	if err := rr.do(t, Config{Conn: dst}, sink); err != nil {
		t.Fatal(err)
	}
	dc, _ := zkconnect(t, dst)
	got, err := dc.Create(t.Context(), "/nodepool/requests/100-", nil, zk.FlagSequence, zktest.Open)
	if err != nil || got != "/nodepool/requests/100-0000006000" {
		t.Fatalf("next request %s (%v), want /nodepool/requests/100-0000006000", got, err)
	}
}

// A target without extended types cannot create TTL nodes: the restore
// says so before writing anything.
func TestTTLNeedsExtendedTypes(t *testing.T) {
	prod := zktest.Server{Which: "prod"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	zktest.Build(t, pc, []zktest.Spec{{Path: "/nodepool"}, {Path: "/nodepool/ttl", Data: []byte("x"), Flags: zk.FlagTTL, TTL: time.Hour}})
	sink := backupOf(t, bzk.Config{Conn: src, TTLs: map[string]time.Duration{"/nodepool/ttl": time.Hour}})

	dst := zkconn.Config{Servers: []string{zktest.StartServer(t)}}
	var rr restoreRun
	err := rr.do(t, Config{Conn: dst}, sink)
	if err == nil || !strings.Contains(err.Error(), "extendedTypesEnabled") || !strings.Contains(err.Error(), "1 TTL nodes") {
		t.Fatalf("got %v", err)
	}
	dc, _ := zkconnect(t, dst)
	if zktest.Exists(t, dc, "/nodepool") {
		t.Fatal("something was written")
	}
}
