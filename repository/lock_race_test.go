package repository

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockRace: many runs asking for the lock at the same instant. Exactly
// one gets it (none would be a livelock, two a broken lock) and the others
// fail with ErrLocked without waiting long; with Wait they all get it, one
// after another, never two at once.
func TestLockRace(t *testing.T) {
	repo, _ := newRepo(t, Options{})
	ctx := t.Context()
	for round := range 5 {
		var wg sync.WaitGroup
		var won, locked atomic.Int32
		var held []*Lock
		var mu sync.Mutex
		start := make(chan struct{})
		for range 10 {
			wg.Go(func() {
				<-start
				l, _, err := repo.Lock(ctx, LockOptions{Operation: "backup", Host: "race"})
				switch {
				case err == nil:
					won.Add(1)
					mu.Lock()
					held = append(held, l)
					mu.Unlock()
				case errors.Is(err, ErrLocked):
					locked.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || locked.Load() != 9 {
			t.Fatalf("round %d: %d got the lock, %d were locked out; want 1 and 9", round, won.Load(), locked.Load())
		}
		for _, l := range held {
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			l, _, err := repo.Lock(ctx, LockOptions{Operation: "backup", Host: "wait", Wait: time.Minute})
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			if err := l.Unlock(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders at once", most.Load())
	}
	if locks, _ := repo.Locks(ctx); len(locks) != 0 {
		t.Fatalf("locks left: %v", locks)
	}
}
