package dirtar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var staged = ExtractOptions{Staged: true}

// TestStagedRejectsWithoutWriting: an archive whose bad entry comes after
// good ones leaves the target exactly as it was, with no staging left.
func TestStagedRejectsWithoutWriting(t *testing.T) {
	good := []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o700},
		{Name: "ok/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "ok/file", Typeflag: tar.TypeReg, Size: 4},
	}
	bad := map[string][]*tar.Header{
		"dotdot":                  {{Name: "../x", Typeflag: tar.TypeReg, Size: 1}},
		"absolute":                {{Name: "/etc/x", Typeflag: tar.TypeReg, Size: 1}},
		"file under symlink to /": {{Name: "root", Typeflag: tar.TypeSymlink, Linkname: "/"}, {Name: "root/x", Typeflag: tar.TypeReg, Size: 1}},
		"file under symlink to ../..": {
			{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../.."}, {Name: "up/x", Typeflag: tar.TypeReg, Size: 1},
		},
		"hardlink outside": {{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}},
		"device":           {{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
	}
	for name, tail := range bad {
		t.Run(name, func(t *testing.T) {
			target, outside := sandbox(t)
			data := craft(t, append(append([]*tar.Header{}, good...), tail...)...)
			fi, _ := os.Stat(target)
			_, err := Extract(context.Background(), bytes.NewReader(data), target, ExtractOptions{Staged: true, NoDevices: true})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("err = %v, want ErrUnsafePath", err)
			}
			t.Log(err)
			if got := dirEntries(t, target); len(got) != 0 {
				t.Errorf("target holds %q after a rejected archive", got)
			}
			if got := dirEntries(t, outside); len(got) != 0 {
				t.Errorf("outside holds %q", got)
			}
			if after, _ := os.Stat(target); after.Mode() != fi.Mode() {
				t.Errorf("target mode changed to %v", after.Mode())
			}
		})
	}
}

func TestStagedExtract(t *testing.T) {
	target, _ := sandbox(t)
	mtime := time.Unix(1_234_567_890, 123)
	data := craft(t,
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: mtime, Format: tar.FormatPAX},
		&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX},
		&tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Size: 3},
		&tar.Header{Name: "top", Typeflag: tar.TypeReg, Size: 2},
	)
	// A leftover of an interrupted run does not make the target non-empty.
	if err := os.Mkdir(filepath.Join(target, StagingPrefix+"old"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckTarget(target, staged); err != nil {
		t.Fatalf("CheckTarget with a leftover: %v", err)
	}
	st, err := Extract(context.Background(), bytes.NewReader(data), target, staged)
	if err != nil {
		t.Fatal(err)
	}
	if got := dirEntries(t, target); !equalStrings(got, []string{"d", "top"}) {
		t.Errorf("target = %q", got)
	}
	if st.Files != 2 || st.Dirs != 2 {
		t.Errorf("stats = %+v", st)
	}
	for _, p := range []string{target, filepath.Join(target, "d")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(mtime) {
			t.Errorf("%s mtime = %v, want %v", p, fi.ModTime(), mtime)
		}
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o750 {
		t.Errorf("target mode = %v, want the archive root's 0750", fi.Mode())
	}
	if err := CheckTarget(target, staged); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("CheckTarget(non-empty) = %v", err)
	}
}

// TestStagedReplace: Replace swaps the content only when the archive is
// good; a bad archive keeps the old content.
func TestStagedReplace(t *testing.T) {
	target, _ := sandbox(t)
	writeFiles(t, target, "old", "olddir/x")
	replace := ExtractOptions{Staged: true, Replace: true}
	bad := craft(t, &tar.Header{Name: "new", Typeflag: tar.TypeReg, Size: 1}, &tar.Header{Name: "../x", Typeflag: tar.TypeReg})
	if _, err := Extract(context.Background(), bytes.NewReader(bad), target, replace); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("err = %v", err)
	}
	if got := dirEntries(t, target); !equalStrings(got, []string{"old", "olddir"}) {
		t.Errorf("after a bad archive target = %q, want the old content", got)
	}
	good := craft(t, &tar.Header{Name: "new", Typeflag: tar.TypeReg, Size: 1})
	if _, err := Extract(context.Background(), bytes.NewReader(good), target, replace); err != nil {
		t.Fatal(err)
	}
	if got := dirEntries(t, target); !equalStrings(got, []string{"new"}) {
		t.Errorf("target = %q, want only the archive's content", got)
	}
	if _, err := Extract(context.Background(), bytes.NewReader(good), target, staged); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("without Replace: err = %v", err)
	}
}

func TestStagedCancel(t *testing.T) {
	target, _ := sandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := craft(t, &tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 1})
	if _, err := Extract(ctx, bytes.NewReader(data), target, staged); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := dirEntries(t, target); len(got) != 0 {
		t.Errorf("target = %q after cancel", got)
	}
}
