package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// sameTree checks that restored holds exactly the directories and regular
// files of source with the same modes, sizes, modification times and
// contents: a restore that is fast but wrong must not count.
func sameTree(source, restored string) error {
	seen := 0
	err := filepath.WalkDir(source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(source, p)
		want, err := d.Info()
		if err != nil {
			return err
		}
		got, err := os.Lstat(filepath.Join(restored, rel))
		if err != nil {
			return fmt.Errorf("restored tree: %w", err)
		}
		seen++
		if want.Mode() != got.Mode() || (!d.IsDir() && (want.Size() != got.Size() || !want.ModTime().Equal(got.ModTime()))) {
			return fmt.Errorf("restored %s differs: %v %d %s, source %v %d %s", rel, got.Mode(), got.Size(), got.ModTime(),
				want.Mode(), want.Size(), want.ModTime())
		}
		if d.Type().IsRegular() {
			return sameContent(p, filepath.Join(restored, rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	count := 0
	err = filepath.WalkDir(restored, func(_ string, _ fs.DirEntry, err error) error {
		count++
		return err
	})
	if err == nil && count != seen {
		err = fmt.Errorf("restored tree has %d entries, the source %d", count, seen)
	}
	return err
}

func sameContent(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return fmt.Errorf("restored %s: content differs", b)
		}
		if errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF) {
			if !errors.Is(errB, errA) {
				return fmt.Errorf("restored %s: length differs", b)
			}
			return nil
		}
		if errA != nil {
			return errA
		}
		if errB != nil {
			return errB
		}
	}
}
