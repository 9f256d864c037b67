package release

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
)

// composeExample runs examples/compose/docker-compose.yaml with a real
// compose against the dev engine: the image make image built, the host's
// network, the dev MariaDB, ZooKeeper over TLS, a volume read directly,
// a host directory, and MinIO. The volume is read in direct mode, which
// only works with the example's volume mounts and user. Only the example's host paths move into a
// scratch directory; then the nightly command runs as cron would run it,
// and the snapshot is listed, deep-verified and checked from the image.
func composeExample(t *testing.T, img image) {
	compose := strings.Fields(os.Getenv("ZUULSTATE_TEST_COMPOSE"))
	if len(compose) == 0 {
		compose = []string{tool(t, "docker-compose")}
	}
	w := newWorld(t, img)
	file := w.composeFile(t, img.ref)
	project := unique("zstest")
	run := func(ctx context.Context, args ...string) (string, error) {
		args = append([]string{"-f", file, "-p", project}, args...)
		cmd := exec.CommandContext(ctx, compose[0], append(compose[1:], args...)...)
		cmd.Env = environ("DOCKER_HOST=" + img.engine)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			err = fmt.Errorf("%s %s: %w\n%s", strings.Join(compose, " "), strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(string(out)), err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if out, err := run(ctx, "down", "--remove-orphans"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
	})

	// The nightly job: the example's own command (--quiet: it prints
	// nothing when it works).
	out, err := run(t.Context(), "run", "--rm", "-T", "zuulstate")
	if err != nil {
		data, _ := os.ReadFile(file)
		t.Fatalf("%v\nthe compose file:\n%s", err, data)
	}
	if out != "" {
		t.Errorf("the quiet nightly backup printed %q", out)
	}
	var listed []struct {
		ID   string   `json:"id"`
		Tags []string `json:"tags"`
	}
	out, err = run(t.Context(), "run", "--rm", "-T", "zuulstate", "snapshots", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || !slices.Contains(listed[0].Tags, "nightly") {
		t.Fatalf("want one snapshot tagged nightly; snapshots --json: %v\n%s", err, out)
	}
	if out, err := run(t.Context(), "run", "--rm", "-T", "-e", "ZUULSTATE_AGE_IDENTITY_FILE=/etc/zuulstate/age-key.txt",
		"zuulstate", "verify", "latest", "--deep"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := run(t.Context(), "run", "--rm", "-T", "zuulstate", "check", "--max-age", "26h"); err != nil || !strings.HasPrefix(out, "ZUULSTATE OK") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	w.checkManifest(t, func(args ...string) (string, error) { return run(t.Context(), args...) }, img.version)
	w.checkMetrics(t, img.version)
}

// world is what the compose run backs up, all under names of its own.
type world struct {
	dir               string // scratch host directory
	db, chroot, vol   string
	volumesDir        string // the dev engine's volumes directory
	socket            string // the dev engine's unix socket
	etc, opt, metrics string // where /etc/zuulstate, /opt/zuul and the textfile directory move
}

func newWorld(t *testing.T, img image) *world {
	w := &world{dir: t.TempDir()}
	w.etc = filepath.Join(w.dir, "etc", "zuulstate")
	w.opt = filepath.Join(w.dir, "opt", "zuul")
	w.metrics = filepath.Join(w.dir, "textfile")
	for _, d := range []string{w.etc, filepath.Join(w.opt, "compose"), w.metrics} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(w.opt, "compose", "docker-compose.yaml"), "services: {}\n", 0o644)

	db := mariadbtest.Open(t, "prod")
	w.db = mariadbtest.CreateDB(t, db, "composetest")
	mariadbtest.Exec(t, db, "CREATE TABLE "+mariadbtest.QuoteIdent(w.db)+".zuul_build (id INT PRIMARY KEY, result VARCHAR(20))")
	mariadbtest.Exec(t, db, "INSERT INTO "+mariadbtest.QuoteIdent(w.db)+".zuul_build VALUES (1, 'SUCCESS'), (2, 'FAILURE')")

	zkServer := zktest.Server{Which: "prod", TLS: true}
	w.chroot = zkServer.Chroot(t)
	zktest.Build(t, zkServer.Connect(t, w.chroot), []zktest.Spec{
		{Path: "/keystorage"}, {Path: "/keystorage/gerrit"},
		{Path: "/keystorage/gerrit/org%2Fproject", Data: []byte(`{"schema": 1}`)},
		{Path: "/zuul-system", Data: []byte(`{"system_id": "compose-test"}`)},
	})

	w.socket, _ = strings.CutPrefix(img.engine, "unix://")
	var mountpoint string
	w.vol, mountpoint = voltest.Volume(t, voltest.Engine(t), volume.CreateOptions{Name: unique("zstest-compose-")})
	w.volumesDir = filepath.Dir(filepath.Dir(mountpoint))
	writeFile(t, filepath.Join(mountpoint, "build-1.log"), "build 1 ok\n", 0o644)

	zkCA, zkCert, zkKey := zktest.TLSFiles(t)
	copyFile(t, zkCA, filepath.Join(w.etc, "zk-ca.pem"))
	copyFile(t, zkCert, filepath.Join(w.etc, "zk-client.pem"))
	copyFile(t, zkKey, filepath.Join(w.etc, "zk-client.key"))
	copyFile(t, testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE"), filepath.Join(w.etc, "s3-ca.pem"))
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.etc, "age-key.txt"), identity.String()+"\n", 0o600)
	for name, env := range map[string]string{"s3-access-key": "ZUULSTATE_TEST_S3_ACCESS_KEY",
		"s3-secret-key": "ZUULSTATE_TEST_S3_SECRET_KEY", "mariadb-password": "ZUULSTATE_TEST_MARIADB_PASSWORD"} {
		writeFile(t, filepath.Join(w.etc, name), testenv.Lookup(t, env)+"\n", 0o600)
	}
	writeFile(t, filepath.Join(w.etc, "zuulstate.yaml"), fmt.Sprintf(`host: compose-test
repository:
  s3: {endpoint: %q, bucket: %q, prefix: %q, region: %q, ca_file: /etc/zuulstate/s3-ca.pem, lookup: path,
       access_key_file: /etc/zuulstate/s3-access-key, secret_key_file: /etc/zuulstate/s3-secret-key}
  encryption: {recipients: [%q]}
sources:
  paths: [{name: compose, path: %q}]
  mariadb: {addr: %q, user: %q, password_file: /etc/zuulstate/mariadb-password, databases: [%q]}
  zookeeper:
    servers: [%q]
    chroot: %q
    tls: {ca_file: /etc/zuulstate/zk-ca.pem, cert_file: /etc/zuulstate/zk-client.pem, key_file: /etc/zuulstate/zk-client.key}
  volumes: {mode: direct, volumes: [{name: %q}]}
retention: {keep_last: 3}
metrics: {textfile: /var/lib/node_exporter/textfile/zuulstate.prom}
`, testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT"), testenv.Lookup(t, "ZUULSTATE_TEST_S3_BUCKET"), unique("compose-")+"/",
		testenv.Lookup(t, "ZUULSTATE_TEST_S3_REGION"), identity.Recipient().String(),
		filepath.Join(w.opt, "compose"), testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_PROD_ADDR"),
		testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_USER"), w.db, zkServer.Addr(t), w.chroot, w.vol), 0o644)
	return w
}
