package dirtar

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// hookWriter buffers the archive and runs hook once, when more than at
// bytes were written: Write streams synchronously, so this lands the
// change while the file is being read.
type hookWriter struct {
	bytes.Buffer
	at   int
	hook func()
}

func (h *hookWriter) Write(p []byte) (int, error) {
	n, err := h.Buffer.Write(p)
	if h.hook != nil && h.Len() > h.at {
		h.hook()
		h.hook = nil
	}
	return n, err
}

const changeSize = 8 << 20

// hotCopy writes src/f (changeSize bytes of 'a'), runs change during its
// read, and returns the extracted content and the reported changes.
func hotCopy(t *testing.T, change func(path string)) (content []byte, stats WriteStats, changed []string) {
	src := t.TempDir()
	f := filepath.Join(src, "f")
	if err := os.WriteFile(f, bytes.Repeat([]byte("a"), changeSize), 0o644); err != nil {
		t.Fatal(err)
	}
	hw := &hookWriter{at: 2 << 20, hook: func() { change(f) }}
	opts := WriteOptions{OnChange: func(p string) { changed = append(changed, p) }}
	stats, err := Write(context.Background(), hw, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if _, err := Extract(context.Background(), &hw.Buffer, dst, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	content, err = os.ReadFile(filepath.Join(dst, "f"))
	if err != nil {
		t.Fatal(err)
	}
	return content, stats, changed
}

func TestFileShrinksWhileRead(t *testing.T) {
	got, stats, changed := hotCopy(t, func(p string) {
		if err := os.Truncate(p, 3<<20); err != nil {
			t.Fatal(err)
		}
	})
	want := append(bytes.Repeat([]byte("a"), 3<<20), make([]byte, changeSize-3<<20)...)
	if !bytes.Equal(got, want) {
		t.Errorf("content not padded with zeros to the header size (len %d)", len(got))
	}
	if stats.Changed != 1 || !equalStrings(changed, []string{"f"}) {
		t.Errorf("Changed = %d, OnChange = %q", stats.Changed, changed)
	}
}

func TestFileGrowsWhileRead(t *testing.T) {
	got, stats, changed := hotCopy(t, func(p string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(bytes.Repeat([]byte("b"), 1<<20)); err != nil {
			t.Fatal(err)
		}
	})
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), changeSize)) {
		t.Errorf("content not cut at the header size (len %d)", len(got))
	}
	if stats.Changed != 1 || !equalStrings(changed, []string{"f"}) {
		t.Errorf("Changed = %d, OnChange = %q", stats.Changed, changed)
	}
}

func TestEntryVanishes(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, "b")
	// "a" is big enough that the hook fires while its content streams:
	// after the listing, before "b" is read.
	if err := os.WriteFile(filepath.Join(src, "a"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	var changed []string
	hw := &hookWriter{at: 8 << 10, hook: func() { os.Remove(filepath.Join(src, "b")) }}
	stats, err := Write(context.Background(), hw, src, WriteOptions{OnChange: func(p string) { changed = append(changed, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Vanished != 1 || stats.Files != 1 || !equalStrings(changed, []string{"b"}) {
		t.Errorf("stats = %+v, OnChange = %q", stats, changed)
	}
	if names := tarNames(t, hw.Bytes()); !equalStrings(names, []string{"./", "a"}) {
		t.Errorf("names = %q", names)
	}
}
