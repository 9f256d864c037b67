package release

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/zuulstate/zuulstate/snapshot"
)

// composeFile writes the compose example with img as its image and its
// host paths moved into w. Where the direct volumes mode reads a mount at
// the path the engine reports (volumes, bind mounts), the container path
// moves with it; the others keep the container path the config names.
func (w *world) composeFile(t *testing.T, img string) string {
	t.Helper()
	var doc map[string]any
	readYAML(t, filepath.Join(repoRoot(t), "examples", "compose", "docker-compose.yaml"), &doc)
	services, _ := doc["services"].(map[string]any)
	svc, _ := services["zuulstate"].(map[string]any)
	if svc == nil {
		t.Fatal("examples/compose has no zuulstate service")
	}
	svc["image"] = img
	moves := map[string]struct {
		to         string
		sameInside bool
	}{
		"/etc/zuulstate":                  {w.etc, false},
		"/var/lib/docker/volumes":         {w.volumesDir, true},
		"/opt/zuul":                       {w.opt, true},
		"/var/run/docker.sock":            {w.socket, false},
		"/var/lib/node_exporter/textfile": {w.metrics, false},
	}
	volumes, _ := svc["volumes"].([]any)
	for i, v := range volumes {
		parts := strings.Split(v.(string), ":")
		move, ok := moves[parts[0]]
		if !ok {
			t.Fatalf("the compose example mounts %s: tell this test where to move it", parts[0])
		}
		if move.sameInside {
			parts[1] = move.to
		}
		parts[0] = move.to
		volumes[i] = strings.Join(parts, ":")
	}
	if _, ok := svc["env_file"]; ok {
		t.Fatal("the compose example reads an env_file: docker inspect shows its secrets; name *_file paths in zuulstate.yaml")
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(w.dir, "compose", "docker-compose.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, string(data), 0o644)
	return file
}

// checkManifest reads the snapshot's manifest through the image: written
// by this build, with a part of every source.
func (w *world) checkManifest(t *testing.T, run func(...string) (string, error), version string) {
	t.Helper()
	out, err := run("run", "--rm", "-T", "zuulstate", "show", "latest", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var m snapshot.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if m.ToolVersion != version || m.Host != "compose-test" {
		t.Errorf("manifest tool_version %q host %q, want %q and compose-test", m.ToolVersion, m.Host, version)
	}
	var parts []string
	for _, p := range m.Parts {
		parts = append(parts, p.Source+"/"+p.Name)
	}
	for _, want := range []string{"paths/compose", "volumes/" + w.vol, "zookeeper/tree", "zookeeper/keys", "mariadb/" + w.db + ".schema"} {
		if !slices.Contains(parts, want) {
			t.Errorf("no part %s in %v", want, parts)
		}
	}
}

// checkMetrics reads the textfile the run left in the host directory the
// example mounts for node_exporter.
func (w *world) checkMetrics(t *testing.T, version string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(w.metrics, "zuulstate.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nzuulstate_backup_last_success 1\n", "\nzuulstate_build_info{version=\"" + version + "\"} 1\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q:\n%s", strings.TrimSpace(want), data)
		}
	}
}

// The examples name the image make image builds, so they run as they are
// once it is built (or pushed under that name).
func TestExamplesUseTheImage(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	def := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(makefile)
	if def == nil {
		t.Fatal("the Makefile sets no default IMAGE")
	}
	want := string(def[1]) + ":latest"
	var compose struct {
		Services map[string]struct{ Image string } `yaml:"services"`
	}
	readYAML(t, filepath.Join(repoRoot(t), "examples", "compose", "docker-compose.yaml"), &compose)
	if got := compose.Services["zuulstate"].Image; got != want {
		t.Errorf("examples/compose uses image %q, make image builds %q", got, want)
	}
	cronjob, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "kubernetes", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+image: ` + regexp.QuoteMeta(want) + `(\s|$)`).Match(cronjob) {
		t.Errorf("examples/kubernetes does not use image %q", want)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
