package unwrap

import (
	"bytes"
	"io"
	"testing"
)

type wrapper struct{ io.Writer }

func (w wrapper) Unwrap() io.Writer { return w.Writer }

type marked struct{ bytes.Buffer }

func (*marked) Mark() {}

type marker interface{ Mark() }

func TestFind(t *testing.T) {
	m := &marked{}
	if got, ok := Find[marker](wrapper{wrapper{m}}); !ok || got != m {
		t.Fatalf("Find through two wrappers = %v, %v", got, ok)
	}
	if _, ok := Find[marker](wrapper{&bytes.Buffer{}}); ok {
		t.Fatal("Find found a marker where there is none")
	}
	var w io.Writer = m
	for range maxDepth {
		w = wrapper{w}
	}
	if _, ok := Find[marker](w); ok {
		t.Fatal("Find went deeper than maxDepth")
	}
}
