package demo_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/demo"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/snapshot"
)

// readmeScript returns the first ```bash block after intro in README.md.
func readmeScript(t *testing.T, intro string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), intro)
	if !ok {
		t.Fatalf("README.md lost the paragraph %q", intro)
	}
	_, rest, ok = strings.Cut(rest, "```bash\n")
	if !ok {
		t.Fatalf("README.md: no ```bash block after %q", intro)
	}
	script, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md: unterminated code block")
	}
	return script
}

// TestReadmeRestoreWithoutZuulstate backs the demo's prod up into two
// local, age-encrypted repositories, one of each format, and runs the
// README's "Restoring without zuulstate" commands for that format (age,
// zstd, coreutils, awk, GNU tar, the docker CLI and, for format 3, the
// stock mariadb client) with only their placeholders filled in. The
// extracted directories and volume must equal prod's entry by entry, and
// the keys file must be what zuul-admin import-keys reads: {"keys": {path:
// node JSON}} for every key of /keystorage. (zuul-admin itself cannot be
// installed here: its line is the one not run.) Format 2's database block
// is TestStockClientLoad's.
func TestReadmeRestoreWithoutZuulstate(t *testing.T) {
	for _, tool := range []string{"bash", "age", "zstd", "tar", "docker", "dd", "join", "awk", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	p := seedProd(t, 50, 10)
	cfg, identity := p.config(t)
	t.Run("format 2", func(t *testing.T) { readmeFormat2(t, p, cfg, identity) })
	t.Run("format 3", func(t *testing.T) { readmeFormat3(t, p, cfg, identity) })
}

// localRepo writes a copy of the demo configuration cfg whose repository
// is a new local directory (the commands read files) with the same
// encryption, plus extra lines in the repository section.
func localRepo(t *testing.T, p *prod, cfg, name, extra string) (string, string) {
	t.Helper()
	repo := filepath.Join(p.Dir, name)
	if err := os.Mkdir(repo, 0o700); err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(y), "repository:\n")
	s3, after, ok2 := strings.Cut(rest, "\nsources:\n")
	_, encryption, ok3 := strings.Cut(s3, "  encryption:\n")
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("the demo config lost its repository or sources section:\n%s", y)
	}
	local := before + "repository:\n  local: {path: " + repo + "}\n" + extra + "  encryption:\n" + encryption + "\nsources:\n" + after
	file := filepath.Join(p.Dir, name+".yaml")
	if err := os.WriteFile(file, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, repo
}

// backupManifest takes a snapshot with config cfg into the local repo and
// returns its manifest.
func backupManifest(t *testing.T, p *prod, cfg, repo string) *snapshot.Manifest {
	t.Helper()
	id := strings.TrimSpace(p.run(t, cfg, "backup"))
	data, err := os.ReadFile(filepath.Join(repo, "manifests", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.DecodeManifest(id, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// certsPart is the name of the part of the certs bind mount.
func certsPart(m *snapshot.Manifest) string {
	for _, part := range m.Parts {
		if part.Source == "volumes" && strings.HasSuffix(part.Name, "_certs") {
			return part.Name
		}
	}
	return ""
}

// fillScript replaces the README's placeholders, failing when one is gone.
func fillScript(t *testing.T, script string, fill []string) string {
	t.Helper()
	for i := 0; i < len(fill); i += 2 {
		if !strings.Contains(script, fill[i]) {
			t.Fatalf("the README's commands lost %q; keep README.md and this test in step:\n%s", fill[i], script)
		}
	}
	return strings.NewReplacer(fill...).Replace(script)
}

// runScript runs a filled-in README block with bash.
func runScript(t *testing.T, script string, env ...string) {
	t.Helper()
	t.Logf("running:\n%s", script)
	file := filepath.Join(t.TempDir(), "restore.sh")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", file)
	cmd.Env = append(append(os.Environ(), "DOCKER_HOST="+voltest.Host(t)), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("README commands: %v\n%s", err, log.String())
	}
}

func readmeFormat2(t *testing.T, p *prod, cfg, identity string) {
	cfg, repo := localRepo(t, p, cfg, "repo-format2", "  dedup: false\n")
	m := backupManifest(t, p, cfg, repo)
	if m.Format != 2 {
		t.Fatalf("dedup: false wrote format %d", m.Format)
	}
	out := t.TempDir()
	composeDir, certsDir, keys := filepath.Join(out, "compose"), filepath.Join(out, "certs"), filepath.Join(out, "zuul-keys.json")
	script := fillScript(t, readmeScript(t, "### Format 2: one object per part"), []string{
		"zuul-admin import-keys /root/zuul-keys.json\n", "",
		"REPOSITORY", repo,
		"<id>", m.ID,
		"key.txt", identity,
		"/opt/zuul/compose", composeDir,
		"/opt/zuul/certs", certsDir,
		"bind.opt_zuul_certs", certsPart(m),
		"volumes/log_server.zst.age", "volumes/" + p.Volume + ".zst.age", // the part, then the new volume
		"log_server", p.DevVolume,
		"/root/zuul-keys.json", keys,
	})
	runScript(t, script)
	voltest.Compare(t, voltest.Scan(t, p.ComposeDir()), voltest.Scan(t, composeDir))
	voltest.Compare(t, voltest.Scan(t, filepath.Join(p.ProdRoot(), "certs")), voltest.Scan(t, certsDir))
	voltest.Compare(t, voltest.Scan(t, p.mountpoint(t, p.Volume)), voltest.Scan(t, p.mountpoint(t, p.DevVolume)))
	checkKeysFile(t, keys)
}

// checkKeysFile checks the export-keys shape and that it holds exactly the
// demo tree's keys, data equal as JSON.
func checkKeysFile(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var export struct {
		Keys map[string]map[string]any `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&export); err != nil {
		t.Fatalf("keys file is not zuul-admin export-keys JSON: %v\n%.300s", err, b)
	}
	want := map[string][]byte{}
	for _, n := range demo.ZooKeeperTree() {
		if n.Data != nil && (strings.HasPrefix(n.Path, "/keystorage/")) {
			want[n.Path] = n.Data
		}
	}
	if len(export.Keys) != len(want) {
		t.Errorf("keys file holds %d keys, want %d", len(export.Keys), len(want))
	}
	for p, data := range want {
		got, ok := export.Keys[p]
		if !ok {
			t.Errorf("keys file lacks %s", p)
			continue
		}
		var w map[string]any
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s: %.80s…, want %.80s…", p, gb, wb)
		}
		if path.Base(p) != "secrets" && path.Base(p) != "ssh" {
			t.Errorf("unexpected key node %s", p)
		}
	}
}
