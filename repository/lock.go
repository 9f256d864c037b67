package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// ErrLocked means another process holds the repository lock.
var ErrLocked = errors.New("repository is locked")

// LockInfo is the content of a lock object.
type LockInfo struct {
	Key       string    `json:"-"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Created   time.Time `json:"created"`
	Refreshed time.Time `json:"refreshed"`
	TTL       Duration  `json:"ttl"`
}

// Duration marshals as a Go duration string in lock objects.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Stale reports whether the holder stopped refreshing the lock long enough
// ago that it must have died.
func (l LockInfo) Stale(now time.Time) bool {
	return now.After(l.Refreshed.Add(time.Duration(l.TTL)))
}

func (l LockInfo) String() string {
	return fmt.Sprintf("held by %s pid %d for %s since %s (last refreshed %s)",
		l.Host, l.PID, l.Operation, l.Created.Format(time.RFC3339), l.Refreshed.Format(time.RFC3339))
}

// LockOptions configure Lock.
type LockOptions struct {
	Operation string
	Host      string
	TTL       time.Duration // a lock not refreshed for this long is stale; 0 means 30m
	Wait      time.Duration // how long to retry while another holder has it
}

// Lock is a held repository lock; it refreshes itself until Unlock.
type Lock struct {
	repo   *Repository
	info   LockInfo
	stop   context.CancelFunc
	done   chan struct{}
	cancel context.CancelCauseFunc
}

// Lock takes the exclusive repository lock. The returned context is ctx,
// cancelled if the lock can no longer be refreshed, so work under a lost lock
// stops instead of racing another holder.
func (r *Repository) Lock(ctx context.Context, o LockOptions) (*Lock, context.Context, error) {
	if o.TTL <= 0 {
		o.TTL = 30 * time.Minute
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	now := time.Now().UTC()
	info := LockInfo{
		Key:  snapshot.LockPrefix + now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]) + ".json",
		Host: o.Host, PID: os.Getpid(), Operation: o.Operation, Created: now, Refreshed: now, TTL: Duration(o.TTL),
	}
	deadline := time.Now().Add(o.Wait)
	for {
		err := r.tryLock(ctx, info)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for the repository lock: %w", context.Cause(ctx))
		case <-time.After(min(5*time.Second, time.Until(deadline)+time.Millisecond)):
		}
	}
	lockCtx, cancel := context.WithCancelCause(ctx)
	refreshCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lock{repo: r, info: info, stop: stop, done: make(chan struct{}), cancel: cancel}
	go l.refresh(refreshCtx)
	return l, lockCtx, nil
}

func (r *Repository) tryLock(ctx context.Context, info LockInfo) error {
	if err := r.checkOthers(ctx, info.Key); err != nil {
		return err
	}
	if err := r.putLock(ctx, info); err != nil {
		return err
	}
	// Two processes can pass the first check at once; each sees the other's
	// lock here and backs off (the loser retries until Wait runs out).
	if err := r.checkOthers(ctx, info.Key); err != nil {
		_ = r.store.Delete(context.WithoutCancel(ctx), info.Key)
		return err
	}
	return nil
}

func (r *Repository) checkOthers(ctx context.Context, own string) error {
	locks, err := r.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.Key != own && !l.Stale(time.Now()) {
			return fmt.Errorf("%w: %s; if that process is gone, wait until the lock is stale after %s or run 'zuulstate unlock'",
				ErrLocked, l, time.Duration(l.TTL))
		}
	}
	return nil
}

func (r *Repository) putLock(ctx context.Context, info LockInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := r.store.Put(ctx, info.Key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("write lock %s: %w", info.Key, err)
	}
	return nil
}

func (l *Lock) refresh(ctx context.Context) {
	defer close(l.done)
	ttl := time.Duration(l.info.TTL)
	tick := time.NewTicker(ttl / 6)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		info := l.info
		info.Refreshed = time.Now().UTC()
		if err := l.repo.putLock(ctx, info); err != nil {
			if time.Since(l.info.Refreshed) > ttl*2/3 {
				l.cancel(fmt.Errorf("repository lock lost: cannot refresh %s: %w", info.Key, err))
				return
			}
			continue
		}
		l.info = info
	}
}

// Unlock stops refreshing and deletes the lock object. It uses its own
// context so that a cancelled run still releases its lock.
func (l *Lock) Unlock(ctx context.Context) error {
	l.stop()
	<-l.done
	l.cancel(nil)
	if err := l.repo.store.Delete(ctx, l.info.Key); err != nil {
		return fmt.Errorf("release lock %s: %w", l.info.Key, err)
	}
	return nil
}

// Locks lists the lock objects in the repository. An unreadable lock object
// is reported as a lock that never goes stale, so nobody runs over it silently.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	var keys []string
	err := r.store.List(ctx, snapshot.LockPrefix, func(oi storage.ObjectInfo) error {
		if strings.HasSuffix(oi.Key, ".json") {
			keys = append(keys, oi.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list locks in %s: %w", r.store, err)
	}
	var out []LockInfo
	for _, k := range keys {
		info, err := r.readLock(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue // released between list and read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (r *Repository) readLock(ctx context.Context, key string) (LockInfo, error) {
	rc, err := r.store.Get(ctx, key)
	if err != nil {
		return LockInfo{}, fmt.Errorf("read lock %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return LockInfo{}, fmt.Errorf("read lock %s: %w", key, err)
	}
	info := LockInfo{Key: key, Host: "?", Operation: "unreadable lock", TTL: Duration(1<<63 - 1)}
	if json.Unmarshal(data, &info) != nil {
		info = LockInfo{Key: key, Host: "?", Operation: "unreadable lock", TTL: Duration(1<<63 - 1)}
	}
	info.Key = key
	return info, nil
}

// RemoveLocks deletes stale locks, or all locks when all is set, and returns
// what it removed.
func (r *Repository) RemoveLocks(ctx context.Context, all bool) ([]LockInfo, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if !all && !l.Stale(time.Now()) {
			continue
		}
		if err := r.store.Delete(ctx, l.Key); err != nil {
			return removed, fmt.Errorf("remove lock %s: %w", l.Key, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}
