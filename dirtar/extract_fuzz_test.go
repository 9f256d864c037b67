package dirtar

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestWriteFuzzSeeds writes FuzzExtract's seed corpus: archives made by
// Write from a small tree with every entry type, and hand-made hostile
// ones. Run with ZUULSTATE_WRITE_FUZZ_SEEDS=1 after a format change.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ZUULSTATE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set ZUULSTATE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "certs/sub"), 0o750))
	must(os.WriteFile(filepath.Join(src, "certs/ca.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o640))
	must(os.Link(filepath.Join(src, "certs/ca.pem"), filepath.Join(src, "certs/sub/hard.pem")))
	must(os.Symlink("../ca.pem", filepath.Join(src, "certs/sub/link")))
	must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	var real bytes.Buffer
	if _, err := Write(context.Background(), &real, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{"tree": real.Bytes()}
	hostile := map[string][]tar.Header{
		"dotdot":          {{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644}},
		"through-symlink": {{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}, {Name: "l/x", Typeflag: tar.TypeReg, Mode: 0o644}},
		"hardlink-out":    {{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}},
		"device":          {{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}},
	}
	for name, hdrs := range hostile {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			h.ModTime = time.Unix(1700000000, 0)
			must(tw.WriteHeader(&h))
		}
		must(tw.Close())
		seeds[name] = b.Bytes()
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzExtract")
	must(os.MkdirAll(dir, 0o755))
	for name, data := range seeds {
		for _, staged := range []bool{false, true} {
			seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", data, staged)
			must(os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-staged-%v", name, staged)), []byte(seed), 0o644))
		}
	}
}

// FuzzExtract runs the restore-side extractor on arbitrary archives, in
// both ways restore uses it (direct, as the paths source does, and staged,
// as the volumes source does). Whatever the archive, nothing may appear
// outside the target, and a staged extract that fails leaves the target
// empty.
func FuzzExtract(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, staged bool) {
		// A hang is a finding too: fail with the stacks instead of stalling
		// the fuzzer (which reports it only as 0 execs/sec).
		watchdog := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("FuzzExtract hangs:\n%s", buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()
		base := t.TempDir()
		target, outside := filepath.Join(base, "target"), filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		opts := ExtractOptions{Staged: staged, NoDevices: true}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Extract(ctx, bytes.NewReader(data), target, opts)
		entries, rerr := os.ReadDir(base)
		if rerr != nil {
			t.Fatal(rerr)
		}
		for _, e := range entries {
			if e.Name() != "target" && e.Name() != "outside" {
				t.Fatalf("archive wrote %q next to the target", e.Name())
			}
		}
		if inside, _ := os.ReadDir(outside); len(inside) > 0 {
			t.Fatalf("archive wrote %q outside the target", inside[0].Name())
		}
		if err != nil && staged {
			left, _ := os.ReadDir(target)
			if len(left) > 0 {
				t.Fatalf("failed staged extract (%v) left %q in the target", err, left[0].Name())
			}
		}
		// Make the temp dir removable whatever modes the archive set.
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}
