package zktree

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DFSLess orders paths depth-first, parents before children and siblings
// by the bytes of their names: comparing with '/' below every other byte.
// Both the walk and the restore's verification rely on this one order.
func DFSLess(a, b string) bool {
	n := min(len(a), len(b))
	for i := range n {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return true
		}
		if cb == '/' {
			return false
		}
		return ca < cb
	}
	return len(a) < len(b)
}

// Under reports whether p is root or inside root's subtree.
func Under(p, root string) bool {
	if root == "/" {
		return true
	}
	return p == root || (strings.HasPrefix(p, root) && p[len(root)] == '/')
}

// Join appends a child name to a parent path.
func Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// Parent returns the parent path ("/" for top-level nodes and "/").
func Parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// CheckPath validates a path given in the configuration: absolute, no
// trailing or doubled slash, no "." or ".." component.
func CheckPath(p string) error {
	if p == "/" {
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("path %q: must start with / and not end with /", p)
	}
	for _, c := range strings.Split(p[1:], "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("path %q: empty, . or .. component", p)
		}
	}
	return nil
}

// ErrBadName marks a path the ZooKeeper server refuses to create.
var ErrBadName = errors.New("ZooKeeper does not accept this name")

// CheckServerPath applies the server's own rules (PathUtils.validatePath):
// no NUL or control characters, no characters in U+D800–U+F8FF (surrogates,
// which is where Java puts every character outside the Basic Multilingual
// Plane, and private use) or U+FFF0–U+FFFF, no "." or ".." component.
// go-zookeeper's check lets some of these through and the server then
// fails the whole batch, so the restore checks every name first.
func CheckServerPath(p string) error {
	if err := CheckPath(p); err != nil {
		return fmt.Errorf("%w: %w", ErrBadName, err)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: path %q is not valid UTF-8", ErrBadName, p)
	}
	for _, r := range p {
		switch {
		case r == 0, r > 0 && r < 0x20, r >= 0x7f && r <= 0x9f:
			return fmt.Errorf("%w: path %q has control character %U", ErrBadName, p, r)
		case r > 0xffff:
			return fmt.Errorf("%w: path %q has %U, outside the Basic Multilingual Plane", ErrBadName, p, r)
		case r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0:
			return fmt.Errorf("%w: path %q has reserved or private-use character %U", ErrBadName, p, r)
		}
	}
	return nil
}

// minHeap is a binary heap ordered by less.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) Len() int { return len(h.items) }

func (h *minHeap[T]) Peek() T { return h.items[0] }

func (h *minHeap[T]) Push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *minHeap[T]) Pop() T {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < n && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	if cap(h.items) > 1024 && len(h.items) < cap(h.items)/4 {
		// Give back the memory of a parent with many children.
		h.items = append([]T(nil), h.items...)
	}
	return top
}
