package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/zktest"
)

// zkFixture is a local repository and a configuration with the zookeeper
// source (prod over TLS with digest auth from the environment) and a
// restore target (dev over TLS, the source's TLS settings inherited).
type zkFixture struct {
	*fixture
	prod, dev  zktest.Server
	pchr, dchr string
}

const zkPassword = zktest.DigestPassword

func newZKFixture(t *testing.T) *zkFixture {
	t.Helper()
	z := &zkFixture{fixture: &fixture{dir: t.TempDir()}, prod: zktest.Server{Which: "prod", TLS: true}, dev: zktest.Server{Which: "dev", TLS: true}}
	z.repo = filepath.Join(z.dir, "repo")
	if err := os.MkdirAll(z.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	z.pchr, z.dchr = z.prod.Chroot(t), z.dev.Chroot(t)
	zktest.Build(t, z.prod.Connect(t, z.pchr), zktest.ZuulTree(zktest.ZuulShape{Projects: 30, NodepoolNodes: 10, Requests: 10, ZuulNodes: 10, Images: 2}))
	z.write(t, "", "")
	return z
}

// write renders the configuration; source and restore add YAML lines.
func (z *zkFixture) write(t *testing.T, source, restore string) {
	t.Helper()
	ca, cert, key := zktest.TLSFiles(t)
	y := fmt.Sprintf(`repository:
  local: {path: %s}
sources:
  zookeeper:
    servers: [%s]
    chroot: %s
    connect_timeout: 5s
    tls: {ca_file: %s, cert_file: %s, key_file: %s}
    auth: {user: %s}
%srestore:
  zookeeper:
    servers: [%s]
    chroot: %s
%s`, z.repo, z.prod.Addr(t), z.pchr, ca, cert, key, zktest.DigestUser, source, z.dev.Addr(t), z.dchr, restore)
	z.writeConfig(t, y)
	z.env = append(z.env, "ZUULSTATE_ZOOKEEPER_PASSWORD="+zkPassword)
}

func TestZooKeeperCLI(t *testing.T) {
	z := newZKFixture(t)
	r := z.run(t, "backup")
	r.expectOK(t)
	id := strings.TrimSpace(r.stdout)
	manifest, err := os.ReadFile(filepath.Join(z.repo, "manifests", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"source": "zookeeper"`, `"name": "tree"`, `"name": "keys"`, `"changed_during_walk"`} {
		if !strings.Contains(string(manifest), want) {
			t.Fatalf("manifest lacks %s:\n%s", want, manifest)
		}
	}
	for _, out := range []string{string(manifest), r.stderr, z.run(t, "config", "check").stdout} {
		mustNotLeak(t, out, zkPassword)
	}

	r = z.run(t, "restore", "latest", "--dry-run")
	r.expectOK(t)
	for _, want := range []string{"create /keystorage on zookeeper", "create /nodepool", "skip zookeeper/keys"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("dry run lacks %q:\n%s", want, r.stdout)
		}
	}
	r = z.run(t, "restore", "latest")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "zookeeper /keystorage: ") || !strings.Contains(r.stdout, "digest matches the snapshot") {
		t.Fatalf("restore summary:\n%s", r.stdout)
	}
	z.run(t, "restore", "latest").expectFail(t, exitTargetFull, "/keystorage", "--wipe", "--force")
	z.run(t, "restore", "latest", "--wipe", "--force").expectFail(t, exitUsage, "--wipe")
	r = z.run(t, "restore", "latest", "--wipe")
	r.expectOK(t)
	if !strings.Contains(r.stderr, "deleted") {
		t.Fatalf("wipe not reported:\n%s", r.stderr)
	}
	z.run(t, "restore", "latest", "--force").expectOK(t)
	z.run(t, "restore", "latest", "--include", "zookeeper/keys").expectFail(t, exitFailure, "import-keys")

	// A dev instance: a fresh target, profile dev.
	z.dchr = z.dev.Chroot(t)
	z.write(t, "", "    profile: dev\n")
	r = z.run(t, "restore", "latest")
	r.expectOK(t)
	dc := z.dev.Connect(t, z.dchr)
	if !zktest.Exists(t, dc, "/keystorage/gerrit/org0000/project-000000/secrets") || zktest.Exists(t, dc, "/nodepool") || zktest.Exists(t, dc, "/zuul-system") {
		t.Fatal("profile dev restored the wrong subtrees")
	}
	if !strings.Contains(r.stderr, "profile dev") || !strings.Contains(r.stdout, "skip") && !strings.Contains(r.stderr, "Nodepool") {
		t.Fatalf("profile dev warning missing:\n%s", r.stderr)
	}
}

func TestZooKeeperCLIConnectionErrors(t *testing.T) {
	z := newZKFixture(t)
	y, _ := os.ReadFile(z.config)
	write := func(old, repl string) {
		t.Helper()
		if err := os.WriteFile(z.config, []byte(strings.Replace(string(y), old, repl, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(z.prod.Addr(t), "127.0.0.1:1") // nothing listens there
	z.run(t, "backup").expectFail(t, exitFailure, "127.0.0.1:1", "refused")

	ca, _, _ := zktest.TLSFiles(t)
	write(ca, zktest.WrongCA(t))
	z.run(t, "backup").expectFail(t, exitFailure, "certificate", "tls.ca_file")

	plain := zktest.Server{Which: "prod"}
	write(z.prod.Addr(t), plain.Addr(t))
	z.run(t, "backup").expectFail(t, exitFailure, "TLS")
}

func mustNotLeak(t *testing.T, s, secret string) {
	t.Helper()
	if strings.Contains(s, secret) {
		t.Fatalf("secret leaked:\n%s", s)
	}
}
