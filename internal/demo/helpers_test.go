package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/demo"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/internal/voltest"
)

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// prod is a seeded demo prod under unique names, removed after the test.
type prod struct {
	demo.Setup
	sv  *demo.Services
	bin string // static zuulstate
}

// seedProd seeds what `make demo` seeds, under names of this test: the
// database (scripts/zuuldb, buildsets of them), host directories, the log
// volume with builds' logs, the running container and the ZooKeeper tree;
// and empties the dev side.
func seedProd(t *testing.T, buildsets, builds int) *prod {
	t.Helper()
	for _, name := range []string{"ZUULSTATE_TEST_S3_ENDPOINT", "ZUULSTATE_TEST_DOCKER_HOST", "ZUULSTATE_TEST_ZK_PROD_TLS_ADDR",
		"ZUULSTATE_TEST_ZK_DEV_TLS_ADDR", "ZUULSTATE_TEST_MARIADB_PROD_ADDR", "ZUULSTATE_TEST_MARIADB_DEV_ADDR"} {
		testenv.Lookup(t, name)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	p := &prod{Setup: demo.Setup{
		Dir: t.TempDir(), Volume: "zstest-e2e-logs-" + id, DevVolume: "zstest-e2e-devlogs-" + id,
		Container: "zstest-e2e-scheduler-" + id, Image: "zstest-e2e-service:" + id, ZKRoot: "/zuulstate-test-e2e-" + id,
		DB: "zs_e2e_" + id, DevDB: "zs_e2e_dev_" + id, S3Prefix: "e2e-" + id + "/", Builds: builds,
		ServiceBinary: voltest.Static(t, "github.com/zuulstate/zuulstate/scripts/demoseed"),
	}, bin: voltest.Zuulstate(t)}
	sv, err := demo.Connect(t.Context(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	p.sv = sv
	prodDB, devDB := mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		if err := demo.RemoveDocker(ctx, sv.Engine, p.Setup); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := demo.DeleteTree(ctx, sv.ZKProd, p.ZKRoot); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := demo.DeleteTree(ctx, sv.ZKDev, p.ZKRoot); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		mariadbtest.Exec(t, prodDB, "DROP DATABASE IF EXISTS "+mariadbtest.QuoteIdent(p.DB))
		mariadbtest.Exec(t, devDB, "DROP DATABASE IF EXISTS "+mariadbtest.QuoteIdent(p.DevDB))
		sv.Close()
	})
	zuuldb := voltest.Static(t, "github.com/zuulstate/zuulstate/scripts/zuuldb")
	cmd := exec.CommandContext(t.Context(), zuuldb, "-db", p.DB, "-buildsets", strconv.Itoa(buildsets), "-drop")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zuuldb: %v\n%s", err, out)
	}
	if err := demo.Seed(t.Context(), p.Setup, sv); err != nil {
		t.Fatal(err)
	}
	return p
}

// config renders examples/demo/zuulstate.yaml for p with a new age key
// and returns the path of the file and the identity file.
func (p *prod) config(t *testing.T) (cfg, identity string) {
	t.Helper()
	identity = filepath.Join(p.Dir, "age-identity.txt")
	recipient := strings.TrimSpace(p.run(t, "", "keygen", "--output", identity))
	tmpl, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "demo", "zuulstate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := demo.RenderConfig(string(tmpl), p.Vars(os.Getenv, recipient))
	if err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(p.Dir, "zuulstate.yaml")
	if err := os.WriteFile(cfg, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, identity
}

// run runs zuulstate with config cfg and the secrets in the environment,
// as the demo does, and returns its stdout; it fails the test on a non-zero
// exit.
func (p *prod) run(t *testing.T, cfg string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), p.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ZUULSTATE_S3_ACCESS_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_ACCESS_KEY"),
		"ZUULSTATE_S3_SECRET_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_SECRET_KEY"),
		"ZUULSTATE_MARIADB_PASSWORD=" + os.Getenv("ZUULSTATE_TEST_MARIADB_PASSWORD"),
		// The chunk-id keys and parent caches of the test's repositories
		// stay with the test, not in this host's /var/lib/zuulstate.
		"ZUULSTATE_STATE_DIR=" + filepath.Join(p.Dir, "state")}
	if cfg != "" {
		cmd.Env = append(cmd.Env, "ZUULSTATE_CONFIG="+cfg)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("zuulstate %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// mountpoint is a volume's directory on this host.
func (p *prod) mountpoint(t *testing.T, name string) string {
	t.Helper()
	v, err := p.sv.Engine.API.VolumeInspect(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v.Mountpoint
}
