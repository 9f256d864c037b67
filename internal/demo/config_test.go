package demo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/internal/demo"
)

// TestDemoConfig renders the demo's configuration with stand-in addresses
// and parses it as zuulstate would, without services: the template keeps
// up with the configuration schema, and its dev target says what the demo
// promises.
func TestDemoConfig(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "demo", "zuulstate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The configuration names the demo's identity file, which parsing
	// reads: a file of the test's own, not whatever `make demo` left.
	s := demo.Default(t.TempDir())
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "age-identity.txt"), []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(name string) string {
		if strings.HasSuffix(name, "_FILE") {
			return "/etc/ssl/certs/ca.pem"
		}
		return map[string]string{"ZUULSTATE_TEST_S3_ENDPOINT": "127.0.0.1:19000", "ZUULSTATE_TEST_MARIADB_PROD_ADDR": "127.0.0.1:13306",
			"ZUULSTATE_TEST_MARIADB_DEV_ADDR": "127.0.0.1:13307", "ZUULSTATE_TEST_MARIADB_USER": "zuulstate",
			"ZUULSTATE_TEST_ZK_PROD_TLS_ADDR": "127.0.0.1:12281", "ZUULSTATE_TEST_ZK_DEV_TLS_ADDR": "127.0.0.1:12282",
			"ZUULSTATE_TEST_DOCKER_HOST": "unix:///tmp/zuulstate-dev/docker.sock"}[name]
	}
	y, err := demo.RenderConfig(string(tmpl), s.Vars(getenv, "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("demo", []byte(y), func(name string) string {
		// The identity as the environment gives it: the file the
		// configuration names exists only once make demo has run.
		return map[string]string{"ZUULSTATE_S3_ACCESS_KEY": "ak", "ZUULSTATE_S3_SECRET_KEY": "sk", "ZUULSTATE_MARIADB_PASSWORD": "pw",
			"ZUULSTATE_AGE_IDENTITY": "AGE-SECRET-KEY-1"}[name]
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	dev := c.Targets["dev"]
	if dev == nil || dev.ProfileName() != config.ProfileDev || dev.MariaDB.DBMap["zuul"] != "zuul_dev" ||
		dev.Volumes.VolumeMap["log_server"] != "dev_log_server" || dev.Volumes.BindMap[s.ProdRoot()] != s.DevRoot() {
		t.Fatalf("targets.dev is not the demo's dev instance: %+v", dev)
	}
	if drill := c.Targets["drill"]; drill == nil || drill.MariaDB.Addr != "127.0.0.1:13307" || drill.ZooKeeper.Servers[0] != "127.0.0.1:12282" {
		t.Fatalf("targets.drill is not on the dev servers: %+v", drill)
	}

	if _, err := demo.RenderConfig("endpoint: ${S3_ENDPOINT}\n", s.Vars(func(string) string { return "" }, "")); err == nil ||
		!strings.Contains(err.Error(), "S3_ENDPOINT") {
		t.Fatalf("a missing service address was not reported: %v", err)
	}
}
