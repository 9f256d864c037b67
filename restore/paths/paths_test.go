package paths

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/storage/local"
)

// evilSnapshot stores a snapshot whose paths part is a hand-made tar that
// tries to escape the restore target.
func evilSnapshot(t *testing.T, entries func(tw *tar.Writer)) (*repository.Repository, string) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(st, repository.Options{})
	w := repo.NewWriter(repository.SnapshotInfo{})
	_, err = w.WritePart(t.Context(), "paths", "evil", func(_ context.Context, out io.Writer) (any, error) {
		tw := tar.NewWriter(out)
		entries(tw)
		return map[string]string{"path": "/nonexistent"}, tw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return repo, m.ID
}

func TestRestoreRejectsEscapes(t *testing.T) {
	cases := map[string]func(tw *tar.Writer, outside string){
		"dotdot": func(tw *tar.Writer, _ string) {
			tw.WriteHeader(&tar.Header{Name: "../escaped", Typeflag: tar.TypeReg, Mode: 0o644})
		},
		"absolute": func(tw *tar.Writer, outside string) {
			tw.WriteHeader(&tar.Header{Name: filepath.Join(outside, "escaped"), Typeflag: tar.TypeReg, Mode: 0o644})
		},
		"through symlink": func(tw *tar.Writer, outside string) {
			tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: outside, Mode: 0o777})
			tw.WriteHeader(&tar.Header{Name: "link/escaped", Typeflag: tar.TypeReg, Mode: 0o644})
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			outside := t.TempDir()
			repo, id := evilSnapshot(t, func(tw *tar.Writer) { build(tw, outside) })
			m, err := repo.Manifest(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "restore")
			_, err = restore.Run(t.Context(), repo, m, []restore.Restorer{&Restorer{Target: target}}, restore.Options{})
			if !errors.Is(err, dirtar.ErrUnsafePath) {
				t.Fatalf("got %v, want ErrUnsafePath", err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Fatalf("restore wrote outside the target: %v", entries)
			}
		})
	}
}
