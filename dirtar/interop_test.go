package dirtar

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// GNU tar is the reference implementation for PAX with xattrs; archives
// must cross in both directions without losing anything it keeps.
func gnuTar(t *testing.T) string {
	requireRoot(t)
	p, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("GNU tar not installed")
	}
	if out, _ := exec.Command(p, "--version").Output(); !bytes.Contains(out, []byte("GNU tar")) {
		t.Skip("tar is not GNU tar")
	}
	return p
}

var gnuXattrFlags = []string{"--xattrs", "--xattrs-include=*", "--numeric-owner", "--warning=no-timestamp"}

func TestGNUTarExtractsOurArchive(t *testing.T) {
	bin := gnuTar(t)
	src := t.TempDir()
	buildTree(t, src)
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	cmd := exec.Command(bin, append([]string{"-xpf", "-", "-C", dst}, gnuXattrFlags...)...)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	compareTrees(t, scanTree(t, src), scanTree(t, dst))
}

func TestExtractGNUTarArchive(t *testing.T) {
	bin := gnuTar(t)
	src := t.TempDir()
	buildTree(t, src)
	// Remove the socket first: GNU tar warns about it and exits 1.
	if err := os.Remove(filepath.Join(src, "sock")); err != nil {
		t.Fatal(err)
	}
	want := scanTree(t, src)
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--format=posix", "-S", "-cf", "-", "-C", src, "."}, gnuXattrFlags...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar -c: %v\n%s", err, errOut.Bytes())
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if _, err := Extract(context.Background(), &out, dst, ExtractOptions{Owners: true}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, want, scanTree(t, dst))
}
