package dirtar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sandbox returns a target dir and an "outside" dir that must stay
// untouched, both inside a fresh temp dir so ../ escapes land in it.
func sandbox(t *testing.T) (target, outside string) {
	base := t.TempDir()
	target = filepath.Join(base, "a", "b", "target")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{target, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return target, outside
}

func TestExtractRejectsUnsafeNames(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 3} }
	cases := map[string][]*tar.Header{
		"dotdot":                   {reg("../evil")},
		"absolute":                 {reg("/abs")},
		"nested dotdot":            {reg("a/../../x")},
		"dotdot that stays inside": {reg("a/../x")},
		"hardlink escape": {
			{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
		},
		"hardlink absolute": {
			{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
		},
		"file through absolute symlink": {
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			reg("link/pwned"),
		},
		"dir through relative symlink": {
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../../outside"},
			{Name: "link/sub/", Typeflag: tar.TypeDir},
		},
		"hardlink source through symlink": {
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			{Name: "h", Typeflag: tar.TypeLink, Linkname: "link/secret"},
		},
		"non-dir entry for the target": {reg(".")},
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			target, outside := sandbox(t)
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, h := range hdrs {
				if h.Linkname == "OUTSIDE" {
					h.Linkname = outside
				}
			}
			_, err := Extract(context.Background(), bytes.NewReader(craft(t, hdrs...)), target, ExtractOptions{})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("err = %v, want ErrUnsafePath", err)
			}
			t.Log(err)
			if got := dirEntries(t, outside); !equalStrings(got, []string{"secret"}) {
				t.Errorf("outside dir changed: %q", got)
			}
			base := filepath.Dir(filepath.Dir(filepath.Dir(target)))
			for _, p := range []string{"evil", "x", "a/evil", "a/x", "a/b/evil", "a/b/x", "a/b/target/h"} {
				if _, err := os.Lstat(filepath.Join(base, p)); err == nil {
					t.Errorf("%s was created", p)
				}
			}
		})
	}
}

// TestExtractNeverThroughInnerSymlink: even a symlink that stays inside
// the target must not be written through; the entry would otherwise land
// somewhere other than its name says.
func TestExtractNeverThroughInnerSymlink(t *testing.T) {
	target, _ := sandbox(t)
	data := craft(t,
		&tar.Header{Name: "real/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "real"},
		&tar.Header{Name: "link/x", Typeflag: tar.TypeReg, Size: 1},
	)
	_, err := Extract(context.Background(), bytes.NewReader(data), target, ExtractOptions{})
	if !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("err = %v, want ErrUnsafePath", err)
	}
	if got := dirEntries(t, filepath.Join(target, "real")); len(got) != 0 {
		t.Errorf("written through symlink: real/ holds %q", got)
	}
}

func TestCleanName(t *testing.T) {
	bad := []string{"", "a\x00b", "/x", "..", "../x", "a/..", "a/../b", "./../x"}
	for _, n := range bad {
		if _, err := cleanName(n); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("cleanName(%q) = %v, want ErrUnsafePath", n, err)
		}
	}
	good := map[string]string{"./": ".", ".": ".", "a/": "a", "./a//b/": "a/b", "a/./b": "a/b", "..a/b..": "..a/b.."}
	for n, want := range good {
		if got, err := cleanName(n); err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", n, got, err, want)
		}
	}
}

func TestExtractRefusesNonEmptyTarget(t *testing.T) {
	target, _ := sandbox(t)
	writeFiles(t, target, "existing")
	data := craft(t, &tar.Header{Name: "new", Typeflag: tar.TypeReg, Size: 1})
	_, err := Extract(context.Background(), bytes.NewReader(data), target, ExtractOptions{})
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("err = %v, want ErrTargetNotEmpty", err)
	}
	if got := dirEntries(t, target); !equalStrings(got, []string{"existing"}) {
		t.Errorf("target changed: %q", got)
	}
	if err := CheckEmpty(filepath.Join(target, "missing")); err != nil {
		t.Errorf("CheckEmpty(missing) = %v", err)
	}
	if err := CheckEmpty(filepath.Join(target, "existing")); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("CheckEmpty(file) = %v", err)
	}
}

// TestExtractOverwrite: files and symlinks are replaced (never written
// through: a symlink to an outside file is removed, not followed),
// existing directories are kept with their other contents.
func TestExtractOverwrite(t *testing.T) {
	target, outside := sandbox(t)
	writeFiles(t, target, "f", "dir/keep", "dir/g")
	victim := filepath.Join(outside, "victim")
	writeFiles(t, outside, "victim")
	if err := os.Symlink(victim, filepath.Join(target, "dir", "h")); err != nil {
		t.Fatal(err)
	}
	data := craft(t,
		&tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 5},
		&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o700},
		&tar.Header{Name: "dir/g", Typeflag: tar.TypeSymlink, Linkname: "../f"},
		&tar.Header{Name: "dir/h", Typeflag: tar.TypeReg, Size: 7},
	)
	if _, err := Extract(context.Background(), bytes.NewReader(data), target, ExtractOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(filepath.Join(target, "f")); got != "xxxxx" {
		t.Errorf("f = %q", got)
	}
	if got := read(filepath.Join(target, "dir/keep")); got != "dir/keep" {
		t.Errorf("dir/keep = %q", got)
	}
	if got, _ := os.Readlink(filepath.Join(target, "dir/g")); got != "../f" {
		t.Errorf("dir/g -> %q", got)
	}
	if got := read(filepath.Join(target, "dir/h")); got != "xxxxxxx" {
		t.Errorf("dir/h = %q", got)
	}
	if got := read(victim); got != "victim" {
		t.Errorf("outside file written through symlink: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(target, "dir")); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700 from archive", fi.Mode())
	}
	// Without Overwrite the same archive is refused before any write.
	if _, err := Extract(context.Background(), bytes.NewReader(data), target, ExtractOptions{}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("err = %v, want ErrTargetNotEmpty", err)
	}
}
