package release

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// versionLine is what a build stamped by the Makefile at this checkout
// prints for --version, up to the Go version.
func versionLine(t *testing.T) (version, prefix string) {
	version = git(t, "describe", "--tags", "--always", "--dirty")
	return version, "zuulstate " + version + " (commit " + git(t, "rev-parse", "HEAD") + ", "
}

func TestBuildStampsVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "zuulstate")
	mustMake(t, nil, "build", "BIN="+bin)
	_, want := versionLine(t)
	got := output(t, nil, bin, "--version")
	if !strings.HasPrefix(got, want) || strings.Contains(got, " dev ") {
		t.Fatalf("--version printed %q, want %q…", got, want)
	}
}

func TestDist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist")
	mustMake(t, nil, "dist", "DIST="+dir)
	version, want := versionLine(t)

	sums := readSums(t, filepath.Join(dir, "SHA256SUMS"))
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	if len(sums) != len(machines) {
		t.Fatalf("SHA256SUMS lists %v, want one binary per platform %v", sums, machines)
	}
	for arch, machine := range machines {
		name := "zuulstate-" + version + "-linux-" + arch
		path := filepath.Join(dir, name)
		if got := fileSHA256(t, path); sums[name] != got {
			t.Errorf("%s: SHA256SUMS says %q, the file has %s", name, sums[name], got)
		}
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machine {
			t.Errorf("%s is built for %v", name, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked: the image and old hosts need a static binary", name)
			}
		}
		f.Close()
		if arch == runtime.GOARCH {
			if got := output(t, nil, path, "--version"); !strings.HasPrefix(got, want) {
				t.Errorf("%s --version printed %q, want %q…", name, got, want)
			}
		}
	}
}

// readSums parses sha256sum output: "HASH  NAME" per line.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 || strings.Contains(name, "/") {
			t.Fatalf("%s: line %q is not sha256sum output for a file beside it", path, sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
