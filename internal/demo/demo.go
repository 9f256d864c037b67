// Package demo builds the small Zuul-shaped "prod" that `make demo` and the
// end-to-end test back up and rebuild as a "dev" instance: the host
// directories a Zuul deployment bind-mounts (certs, configuration, SSH keys)
// and its compose files, a log_server volume with build logs, a running
// container that uses the bind mounts, and a ZooKeeper tree with project
// keys, OIDC keys, the system id, Nodepool records and runtime state. The
// database comes from scripts/zuuldb. Every Seed removes what an earlier
// run left, on the prod and the dev side, so seeding is idempotent.
//
// It only ever touches the names in its Setup: the dev services are shared
// with tests running at the same time.
package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Setup names everything the demo creates.
type Setup struct {
	Dir       string // host directory: Dir/opt/zuul is prod's, Dir/srv/zuul-dev the dev instance's
	Volume    string // prod's build log volume
	DevVolume string // its name on the dev instance
	Container string // the running service that bind-mounts certs, configuration and SSH keys
	Image     string // the FROM-scratch image of that container
	ZKRoot    string // chroot of the Zuul tree on the prod and the dev ZooKeeper
	DB        string // prod's database (scripts/zuuldb fills it)
	DevDB     string // its name on the dev server
	S3Prefix  string // repository prefix in the zuulstate-demo bucket
	// ServiceBinary is a static program the image runs; it must idle until
	// SIGTERM when started with the single argument "serve".
	ServiceBinary string
	// Builds is the number of builds whose logs go into the volume.
	Builds int
}

// Default is the Setup of `make demo`.
func Default(dir string) Setup {
	return Setup{Dir: dir, Volume: "log_server", DevVolume: "dev_log_server", Container: "zuul_scheduler",
		Image: "zuulstate-demo-service:latest", ZKRoot: "/zuulstate-demo", DB: "zuul", DevDB: "zuul_dev", S3Prefix: "demo/", Builds: 200}
}

// ProdRoot is the host directory prod's bind mounts live under (/opt/zuul
// on a real host).
func (s Setup) ProdRoot() string { return filepath.Join(s.Dir, "opt", "zuul") }

// DevRoot is where the dev instance's bind mounts go (the bind_map target).
func (s Setup) DevRoot() string { return filepath.Join(s.Dir, "srv", "zuul-dev") }

// PathsDir receives the paths source's parts on the dev instance.
func (s Setup) PathsDir() string { return filepath.Join(s.Dir, "srv", "paths") }

// Binds are the prod host directories the container mounts, with where.
func (s Setup) Binds() map[string]string {
	r := s.ProdRoot()
	return map[string]string{
		filepath.Join(r, "certs"):              "/etc/zuul/certs",
		filepath.Join(r, "zuul_configuration"): "/etc/zuul/config",
		filepath.Join(r, "ssh_keys"):           "/var/lib/zuul/ssh",
	}
}

// ComposeDir is the directory the paths source backs up: the deployment's
// compose file and environment, which no container mounts.
func (s Setup) ComposeDir() string { return filepath.Join(s.ProdRoot(), "compose") }

// Vars are the values RenderConfig substitutes, from the dev services'
// environment (scripts/dev-services.sh env) and s.
func (s Setup) Vars(getenv func(string) string, recipient string) map[string]string {
	return map[string]string{
		"DEMO_DIR":      s.Dir,
		"PROD_ROOT":     s.ProdRoot(),
		"DEV_ROOT":      s.DevRoot(),
		"PATHS_DIR":     s.PathsDir(),
		"COMPOSE_DIR":   s.ComposeDir(),
		"AGE_RECIPIENT": recipient,
		"S3_ENDPOINT":   getenv("ZUULSTATE_TEST_S3_ENDPOINT"),
		"S3_CA_FILE":    getenv("ZUULSTATE_TEST_S3_CA_FILE"),
		"S3_PREFIX":     s.S3Prefix,
		"MARIADB_PROD":  getenv("ZUULSTATE_TEST_MARIADB_PROD_ADDR"),
		"MARIADB_DEV":   getenv("ZUULSTATE_TEST_MARIADB_DEV_ADDR"),
		"MARIADB_USER":  getenv("ZUULSTATE_TEST_MARIADB_USER"),
		"ZK_PROD":       getenv("ZUULSTATE_TEST_ZK_PROD_TLS_ADDR"),
		"ZK_DEV":        getenv("ZUULSTATE_TEST_ZK_DEV_TLS_ADDR"),
		"ZK_CA_FILE":    getenv("ZUULSTATE_TEST_ZK_CA_FILE"),
		"ZK_CERT_FILE":  getenv("ZUULSTATE_TEST_ZK_CERT_FILE"),
		"ZK_KEY_FILE":   getenv("ZUULSTATE_TEST_ZK_KEY_FILE"),
		"ZK_ROOT":       s.ZKRoot,
		"DOCKER_HOST":   getenv("ZUULSTATE_TEST_DOCKER_HOST"),
		"DB":            s.DB,
		"DEV_DB":        s.DevDB,
		"VOLUME":        s.Volume,
		"DEV_VOLUME":    s.DevVolume,
		"CONTAINER":     s.Container,
	}
}

// RenderConfig replaces ${NAME} in the template (examples/demo/zuulstate.yaml)
// with vars and fails on a name it does not know or an empty value, so a
// missing service address is reported instead of written as "".
func RenderConfig(template string, vars map[string]string) (string, error) {
	var missing []string
	out := os.Expand(template, func(name string) string {
		v, ok := vars[name]
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("demo config: no value for %s (are the dev services up? eval \"$(scripts/dev-services.sh env)\")",
			strings.Join(missing, ", "))
	}
	return out, nil
}
