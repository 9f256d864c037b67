package mariadb

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// readmeLoadScript returns the shell commands the README documents for
// loading a mariadb snapshot with the stock client: the first ```bash block
// after the paragraph that introduces them.
func readmeLoadScript(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const intro = "A `mariadb` part is SQL for the stock client."
	_, rest, ok := strings.Cut(string(readme), intro)
	if !ok {
		t.Fatalf("README.md lost the paragraph %q", intro)
	}
	_, rest, ok = strings.Cut(rest, "```bash\n")
	if !ok {
		t.Fatal("README.md: no ```bash block after the stock-client paragraph")
	}
	script, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md: unterminated code block")
	}
	return script
}

// TestStockClientLoad takes a snapshot of the torture database into a local
// repository and loads it into dev without zuulstate, running the README's
// commands (zstd and the stock mariadb client) with only its placeholders
// filled in, then compares the copy with the source table by table.
func TestStockClientLoad(t *testing.T) {
	for _, tool := range []string{"bash", "zstd", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	prod, dev := mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	name := mariadbtest.CreateDB(t, prod, "zs_stock")
	mariadbtest.LoadTorture(t, prod, name)
	// The README's commands keep the database name: a fresh database on dev.
	t.Cleanup(func() {
		if _, err := dev.ExecContext(context.WithoutCancel(t.Context()), "DROP DATABASE IF EXISTS "+mariadbtest.QuoteIdent(name)); err != nil {
			t.Errorf("drop %s on dev: %v", name, err)
		}
	})

	repo, dir := localRepo(t)
	pc := mariadbtest.Config(t, "prod")
	snap := New(Config{Addr: pc.Addr, User: pc.User, Password: pc.Passwd, Databases: []string{name}, Workers: 2, ChunkRows: 5})
	m, err := backup.Run(t.Context(), repo, []backup.Snapshotter{snap}, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var split bool
	for _, p := range m.Parts {
		split = split || strings.Contains(p.Name, ".data.")
	}
	if !split {
		t.Error("no table was split into key ranges: the test does not load chunk parts")
	}

	dc := mariadbtest.Config(t, "dev")
	host, port, err := net.SplitHostPort(dc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	script := readmeLoadScript(t)
	// Fill in the README's placeholders, and only those. The password goes
	// through the environment, as the README says.
	fill := []string{
		"export MYSQL_PWD=…    # never on the command line\n", "",
		"REPOSITORY", dir,
		"<id>", m.ID,
		"zuul.", mariadbpart.NameComponent(name) + ".",
		"HOST", host,
		"PORT", port,
		"USER", dc.User,
	}
	for i := 0; i < len(fill); i += 2 {
		if !strings.Contains(script, fill[i]) {
			t.Fatalf("the README's commands lost the placeholder %q; keep README.md and this test in step:\n%s", fill[i], script)
		}
	}
	script = strings.NewReplacer(fill...).Replace(script)
	t.Logf("running:\n%s", script)
	file := filepath.Join(t.TempDir(), "load.sh")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", file)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dc.Passwd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("README commands: %v\n%s", err, out.String())
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Logf("output:\n%s", s)
	}
	mariadbtest.Compare(t, prod, name, dev, name)
}
