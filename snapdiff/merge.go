package snapdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// entry is one znode or file, reduced to its path and what is compared.
type entry struct {
	path  string
	attrs []attr
}

// attr is one compared attribute; value is opaque, shown is printed.
type attr struct {
	name, value, shown string
}

// iterator yields entries in ascending order (less) and io.EOF at the end.
type iterator func() (*entry, error)

// ordered wraps next so an entry out of order is an error: the merge walk
// is only right on sorted streams.
func ordered(next iterator, less func(a, b string) bool, what string) iterator {
	prev, first := "", true
	return func() (*entry, error) {
		e, err := next()
		if err != nil {
			return nil, err
		}
		if !first && !less(prev, e.path) {
			return nil, fmt.Errorf("%s: %q comes after %q, so the stream is not in the sorted order this comparison needs", what, e.path, prev)
		}
		prev, first = e.path, false
		return e, nil
	}
}

// merge walks two sorted streams and emits what was added in b, removed
// from a, and changed between them.
func merge(ctx context.Context, a, b iterator, less func(x, y string) bool, emit func(kind, path, detail string)) error {
	ea, err := next(a)
	if err != nil {
		return err
	}
	eb, err := next(b)
	if err != nil {
		return err
	}
	for ea != nil || eb != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case eb == nil || (ea != nil && less(ea.path, eb.path)):
			emit(Removed, ea.path, "")
			if ea, err = next(a); err != nil {
				return err
			}
		case ea == nil || less(eb.path, ea.path):
			emit(Added, eb.path, "")
			if eb, err = next(b); err != nil {
				return err
			}
		default:
			if d := differs(ea, eb); d != "" {
				emit(Changed, ea.path, d)
			}
			if ea, err = next(a); err != nil {
				return err
			}
			if eb, err = next(b); err != nil {
				return err
			}
		}
	}
	return nil
}

func next(it iterator) (*entry, error) {
	e, err := it()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return e, err
}

// differs names the attributes that differ, "" if none.
func differs(a, b *entry) string {
	out := ""
	for i, x := range a.attrs {
		if i >= len(b.attrs) {
			break
		}
		y := b.attrs[i]
		if x.value == y.value {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += x.name
		if x.shown != "" || y.shown != "" {
			out += " " + x.shown + " → " + y.shown
		}
	}
	return out
}
