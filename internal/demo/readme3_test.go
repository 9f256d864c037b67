package demo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/storage/local"
)

// readmeFormat3 runs the README's format 3 block against a format 3
// snapshot of every source: the trees, the volume and the keys file as in
// format 2, the database loaded by the stock client into the dev server
// under its own name and compared table by table; then the block's part
// function rebuilds every part of the snapshot, and each must be byte for
// byte the stream zuulstate restores from.
func readmeFormat3(t *testing.T, p *prod, cfg, identity string) {
	cfg, repo := localRepo(t, p, cfg, "repo-format3", "")
	backupManifest(t, p, cfg, repo)
	// A second night, with a new file in the compose directory and in the
	// volume: the unchanged files' records are reused from the first
	// snapshot, as slices of its chunks, which the commands must cut.
	for _, dir := range []string{p.ComposeDir(), p.mountpoint(t, p.Volume)} {
		if err := os.WriteFile(filepath.Join(dir, "zz-readme-night-2.txt"), []byte("night 2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := backupManifest(t, p, cfg, repo)
	if m.Format != 3 {
		t.Fatalf("the default wrote format %d", m.Format)
	}
	if n := slicedRefs(t, repo, m); n == 0 {
		t.Fatal("no chunk list line of the second snapshot takes a slice from inside a chunk: the test does not exercise the slicing")
	} else {
		t.Logf("%d chunk list lines take a slice from inside a chunk", n)
	}
	devVolume := p.DevVolume + "-f3"
	eng := voltest.Engine(t)
	t.Cleanup(func() { voltest.RemoveVolume(t, eng, devVolume) })
	prodDB, devDB := mariadbtest.Open(t, "prod"), mariadbtest.Open(t, "dev")
	// The stock client loads the database under its own name.
	t.Cleanup(func() { _, _ = devDB.Exec("DROP DATABASE IF EXISTS " + mariadbtest.QuoteIdent(p.DB)) })
	dc := mariadbtest.Config(t, "dev")
	host, port, err := net.SplitHostPort(dc.Addr)
	if err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	composeDir, certsDir, keys := filepath.Join(out, "compose"), filepath.Join(out, "certs"), filepath.Join(out, "zuul-keys.json")
	script := fillScript(t, readmeScript(t, "### Format 3: chunked parts"), []string{
		"zuul-admin import-keys /root/zuul-keys.json\n", "",
		"export MYSQL_PWD=…    # never on the command line\n", "",
		"REPOSITORY", repo,
		"<id>", m.ID,
		"key.txt", identity,
		"/opt/zuul/compose", composeDir,
		"/opt/zuul/certs", certsDir,
		"bind.opt_zuul_certs", certsPart(m),
		"volumes/log_server.chunks.zst", "volumes/" + p.Volume + ".chunks.zst", // the part, then the new volume
		"log_server", devVolume,
		"/root/zuul-keys.json", keys,
		"mariadb/zuul.", "mariadb/" + mariadbpart.NameComponent(p.DB) + ".",
		"HOST", host, "PORT", port, "USER", dc.User,
	})
	runScript(t, script, "MYSQL_PWD="+dc.Passwd)
	voltest.Compare(t, voltest.Scan(t, p.ComposeDir()), voltest.Scan(t, composeDir))
	voltest.Compare(t, voltest.Scan(t, filepath.Join(p.ProdRoot(), "certs")), voltest.Scan(t, certsDir))
	voltest.Compare(t, voltest.Scan(t, p.mountpoint(t, p.Volume)), voltest.Scan(t, p.mountpoint(t, devVolume)))
	checkKeysFile(t, keys)
	mariadbtest.Compare(t, prodDB, p.DB, devDB, p.DB)

	// Every part, rebuilt by the block's own part function.
	prelude, _, ok := strings.Cut(script, "# paths: each part into its directory\n")
	if !ok {
		t.Fatal("the README's format 3 block lost its '# paths:' line after the part function")
	}
	var calls strings.Builder
	for i, part := range m.Parts {
		fmt.Fprintf(&calls, "part %s > %s\n", part.Key, filepath.Join(out, fmt.Sprint("part-", i)))
	}
	runScript(t, prelude+calls.String())
	want := decodedParts(t, repo, identity, m)
	for i, part := range m.Parts {
		got := fileSum(t, filepath.Join(out, fmt.Sprint("part-", i)))
		if got != want[i] {
			t.Errorf("part %s/%s: the README's commands rebuild %s, zuulstate restores %s", part.Source, part.Name, got, want[i])
		}
	}
	t.Logf("%d parts rebuilt by the README's commands, each byte for byte what zuulstate restores", len(m.Parts))
}

// decodedParts returns the size and sha256 of each part's raw stream as
// zuulstate reads it for a restore, every check included.
func decodedParts(t *testing.T, repo, identity string, m *snapshot.Manifest) []string {
	t.Helper()
	f, err := os.Open(identity)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(repo)
	if err != nil {
		t.Fatal(err)
	}
	r := repository.New(st, repository.Options{Identities: ids, StateDir: t.TempDir()})
	var sums []string
	for _, part := range m.Parts {
		stream, closer, err := r.OpenPart(t.Context(), part)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, stream)
		if err == nil {
			err = stream.Finish()
		}
		closer.Close()
		if err != nil {
			t.Fatalf("part %s/%s: %v", part.Source, part.Name, err)
		}
		sums = append(sums, fmt.Sprintf("%d bytes, sha256 %s", n, hex.EncodeToString(h.Sum(nil))))
	}
	return sums
}

func fileSum(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d bytes, sha256 %s", n, hex.EncodeToString(h.Sum(nil)))
}

// slicedRefs counts the chunk list lines of m that start inside a chunk.
func slicedRefs(t *testing.T, repo string, m *snapshot.Manifest) int {
	t.Helper()
	n := 0
	for _, part := range m.Parts {
		f, err := os.Open(filepath.Join(repo, part.Key))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := snapshot.NewDecoder(f, part.ListPart(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = chunkstore.ReadChunkList(dec, func(r chunkstore.Ref) error {
			if r.Offset > 0 {
				n++
			}
			return nil
		})
		if err == nil {
			err = dec.Finish()
		}
		dec.Close()
		f.Close()
		if err != nil {
			t.Fatalf("chunk list of %s/%s: %v", part.Source, part.Name, err)
		}
	}
	return n
}
