package restore

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Opener opens the raw stream of one part. finish must be called once the
// stream is no longer needed: it reads what is left, checks size and
// sha256 against the manifest, and releases the stream. Once the ctx given
// to the Opener is done, finish only releases the stream: a restorer that
// gives up on a part cancels that ctx first, so a failure is not followed
// by reading the rest of a large part.
type Opener func(ctx context.Context, p snapshot.Part) (r io.Reader, finish func() error, err error)

// PartOpener opens parts of repo for reading; finish says whether the
// part was intact. Everything that reads parts (restore, diff) opens them
// through openPart.
func PartOpener(repo *repository.Repository) Opener {
	return func(ctx context.Context, p snapshot.Part) (io.Reader, func() error, error) {
		return openPart(ctx, repo, p, func(err error) error { return err }, func() {})
	}
}

// restoreOpener opens parts for Restore: a part found damaged once its
// data was written says so.
func restoreOpener(repo *repository.Repository) Opener {
	return func(ctx context.Context, p snapshot.Part) (io.Reader, func() error, error) {
		damaged := func(err error) error {
			return fmt.Errorf("part %s/%s: the restored data is incomplete or wrong: %w", p.Source, p.Name, err)
		}
		return openPart(ctx, repo, p, damaged, func() {})
	}
}

// intactParts records the parts an Inspector read to their end and found
// intact.
type intactParts struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (s *intactParts) has(p snapshot.Part) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[p.Key]
}

// opener opens parts for Inspect.
func (s *intactParts) opener(repo *repository.Repository) Opener {
	return func(ctx context.Context, p snapshot.Part) (io.Reader, func() error, error) {
		intact := func() {
			s.mu.Lock()
			s.keys[p.Key] = true
			s.mu.Unlock()
		}
		return openPart(ctx, repo, p, func(err error) error { return err }, intact)
	}
}

// openPart is an Opener's work: finish hands a failed check to damaged and
// calls intact after a passed one.
func openPart(ctx context.Context, repo *repository.Repository, p snapshot.Part, damaged func(error) error, intact func()) (io.Reader, func() error, error) {
	dec, closer, err := repo.OpenPart(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	finish := func() error {
		if ctx.Err() != nil {
			closer.Close()
			return ctx.Err()
		}
		err := dec.Finish()
		closer.Close()
		if err != nil {
			return damaged(err)
		}
		intact()
		return nil
	}
	return dec, finish, nil
}
