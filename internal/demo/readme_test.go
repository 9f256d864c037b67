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

// TestReadmeRestoreWithoutZuulstate backs the demo's prod up into a local,
// age-encrypted repository and runs the README's "Restoring without
// zuulstate" commands (age, zstd, GNU tar, the docker CLI) with only their
// placeholders filled in. The extracted directories and volume must equal
// prod's entry by entry, and the keys file must be what zuul-admin
// import-keys reads: {"keys": {path: node JSON}} for every key of
// /keystorage. (zuul-admin itself cannot be installed here: its line is the
// one not run.) The database block is TestStockClientLoad's.
func TestReadmeRestoreWithoutZuulstate(t *testing.T) {
	for _, tool := range []string{"bash", "age", "zstd", "tar", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	p := seedProd(t, 50, 10)
	cfg, identity := p.config(t)
	// The same sources into a local repository: the commands read files.
	repo := filepath.Join(p.Dir, "repo")
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
	local := before + "repository:\n  local: {path: " + repo + "}\n  encryption:\n" + encryption + "\nsources:\n" + after
	if err := os.WriteFile(cfg, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(p.run(t, cfg, "backup"))
	m, err := os.ReadFile(filepath.Join(repo, "manifests", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest snapshot.Manifest
	if err := json.Unmarshal(m, &manifest); err != nil {
		t.Fatal(err)
	}
	certsPart := ""
	for _, part := range manifest.Parts {
		if part.Source == "volumes" && strings.HasSuffix(part.Name, "_certs") {
			certsPart = part.Name
		}
	}

	out := t.TempDir()
	composeDir, certsDir, keys := filepath.Join(out, "compose"), filepath.Join(out, "certs"), filepath.Join(out, "zuul-keys.json")
	script := readmeScript(t, "Tar parts (`paths`, and `volumes`")
	fill := []string{
		"zuul-admin import-keys /root/zuul-keys.json\n", "",
		"REPOSITORY", repo,
		"<id>", id,
		"key.txt", identity,
		"/opt/zuul/compose", composeDir,
		"/opt/zuul/certs", certsDir,
		"bind.opt_zuul_certs", certsPart,
		"volumes/log_server.zst.age", "volumes/" + p.Volume + ".zst.age", // the part, then the new volume
		"log_server", p.DevVolume,
		"/root/zuul-keys.json", keys,
	}
	for i := 0; i < len(fill); i += 2 {
		if !strings.Contains(script, fill[i]) {
			t.Fatalf("the README's commands lost %q; keep README.md and this test in step:\n%s", fill[i], script)
		}
	}
	script = strings.NewReplacer(fill...).Replace(script)
	t.Logf("running:\n%s", script)
	file := filepath.Join(out, "restore.sh")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", file)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+voltest.Host(t))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("README commands: %v\n%s", err, log.String())
	}

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
