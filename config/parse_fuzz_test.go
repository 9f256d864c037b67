package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFuzzSeeds writes FuzzParse's seed corpus from the example
// configuration and a few small real configurations. Run with
// ZUULSTATE_WRITE_FUZZ_SEEDS=1 after changing the format.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ZUULSTATE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set ZUULSTATE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	example, err := os.ReadFile("../examples/zuulstate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string]string{
		"example":     string(example),
		"local-paths": "repository:\n  local:\n    path: /srv/backup\nsources:\n  paths:\n    - name: certs\n      path: /opt/zuul/certs\n      exclude: ['*.tmp']\nretention:\n  keep_daily: 7\n",
		"s3-object-lock": "repository:\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: zuul\n    access_key: ak\n    secret_key: sk\n    object_lock:\n      mode: governance\n      retain: 720h\n" +
			"sources:\n  paths:\n    - name: etc\n      path: /etc/zuul\n",
		"zookeeper-tls": "repository:\n  local:\n    path: /r\nsources:\n  zookeeper:\n    servers: ['zk1:2281']\n    tls:\n      ca_file: /c/ca.pem\n      cert_file: /c/c.pem\n      key_file: /c/k.pem\n",
		"volumes":       "repository:\n  local:\n    path: /r\nsources:\n  volumes:\n    volumes:\n      - name: log_server\n        stop: true\n    containers:\n      - name: zuul_scheduler\n",
		"aliases":       "a: &a [x, x, x]\nrepository: &r\n  local:\n    path: *a\n",
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParse: any input either fails with ErrInvalid or parses into a
// configuration that renders (config check) without its secrets.
func FuzzParse(f *testing.F) {
	const marker = "fuzz-marker-secret-6c1f"
	getenv := func(k string) string {
		if strings.HasSuffix(k, "_PASSWORD") {
			return marker
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, getenv)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("error shows a secret: %v", err)
			}
			return
		}
		out, err := c.Redacted()
		if err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		if strings.Contains(string(out), marker) && !strings.Contains(string(data), marker) {
			t.Fatalf("config check output shows a secret:\n%s", out)
		}
	})
}
