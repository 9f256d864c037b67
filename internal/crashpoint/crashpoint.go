// Package crashpoint kills the process with SIGKILL at a chosen change to
// the repository: the n-th Put or Delete of a key below a prefix, just
// before or just after it is made. The reliability tests aim their kills
// with it at one step of a prune or a backup, instead of at a moment of
// wall-clock time that may fall anywhere. Only binaries built with the
// crashpoints tag read ZUULSTATE_CRASHPOINT (cmd/zuulstate/crashpoint_on.go);
// release builds never kill themselves.
package crashpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zuulstate/zuulstate/storage"
)

// EnvVar holds the point, in the form Parse reads.
const EnvVar = "ZUULSTATE_CRASHPOINT"

// Point is where to die.
type Point struct {
	After  bool   // once the change is made, else before
	Op     string // "put" or "delete"
	Prefix string // of the keys counted
	N      int    // the n-th such change, from 1
}

func (p Point) String() string {
	when := map[bool]string{false: "before", true: "after"}[p.After]
	return fmt.Sprintf("%s:%s:%s:%d", when, p.Op, p.Prefix, p.N)
}

// Parse reads "before|after:put|delete:<key prefix>:<n>", for example
// "before:delete:packs/:3" (die instead of deleting the third pack).
func Parse(s string) (Point, error) {
	f := strings.Split(s, ":")
	if len(f) != 4 {
		return Point{}, fmt.Errorf("crash point %q: want before|after:put|delete:<prefix>:<n>", s)
	}
	n, err := strconv.Atoi(f[3])
	switch {
	case f[0] != "before" && f[0] != "after":
		return Point{}, fmt.Errorf("crash point %q: %q is neither before nor after", s, f[0])
	case f[1] != "put" && f[1] != "delete":
		return Point{}, fmt.Errorf("crash point %q: %q is neither put nor delete", s, f[1])
	case err != nil || n < 1:
		return Point{}, fmt.Errorf("crash point %q: count %q is not a positive number", s, f[3])
	}
	return Point{After: f[0] == "after", Op: f[1], Prefix: f[2], N: n}, nil
}

var errKilled = errors.New("crashpoint: killed")

// Store counts the changes that match its point and kills the process at
// the chosen one. It passes the optional interfaces of the store it wraps
// (retention, leftovers) through.
type Store struct {
	storage.Store
	point Point
	// Kill ends the process; tests of this package replace it.
	Kill func()

	mu    sync.Mutex
	count int
}

// Wrap returns s with the point armed.
func Wrap(s storage.Store, p Point) *Store {
	return &Store{Store: s, point: p, Kill: func() {
		fmt.Fprintf(os.Stderr, "zuulstate: crashpoint %s reached: SIGKILL\n", p)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}}
}

func (s *Store) change(op, key string, do func() error) error {
	if op != s.point.Op || !strings.HasPrefix(key, s.point.Prefix) {
		return do()
	}
	s.mu.Lock()
	s.count++
	hit := s.count == s.point.N
	s.mu.Unlock()
	if hit && !s.point.After {
		s.Kill()
		return errKilled // only when Kill returns: in tests
	}
	err := do()
	if hit && err == nil {
		s.Kill()
	}
	return err
}

// Put counts, then stores.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	return s.change("put", key, func() error { return s.Store.Put(ctx, key, r) })
}

// Delete counts, then deletes.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.change("delete", key, func() error { return s.Store.Delete(ctx, key) })
}

// RetainedUntil asks the wrapped store, if it keeps retentions.
func (s *Store) RetainedUntil(ctx context.Context, key string) (time.Time, error) {
	if r, ok := s.Store.(storage.Retainer); ok {
		return r.RetainedUntil(ctx, key)
	}
	return time.Time{}, nil
}

// sweeper is repository.Sweeper, which this package cannot import.
type sweeper interface {
	SweepLeftovers(ctx context.Context, cutoff func(key string) time.Time, dryRun bool) (int, error)
}

// SweepLeftovers passes to the wrapped store, if it has leftovers.
func (s *Store) SweepLeftovers(ctx context.Context, cutoff func(key string) time.Time, dryRun bool) (int, error) {
	if sw, ok := s.Store.(sweeper); ok {
		return sw.SweepLeftovers(ctx, cutoff, dryRun)
	}
	return 0, nil
}
