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
	"log/slog"
	mathrand "math/rand/v2"
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
	// Held is set once the holder has won against runs that started at
	// the same moment (see tryLock).
	Held bool `json:"held,omitempty"`
	// Process identifies the holder's process, so that a run on the same
	// machine can tell that it died before the TTL says so.
	Process *Process `json:"process,omitempty"`
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
	// Log gets a warning for each lock taken over because its holder on
	// this machine is gone.
	Log *slog.Logger

	warned map[string]bool // locks warned about, by key
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
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.warned = map[string]bool{}
	deadline := time.Now().Add(o.Wait)
	var info LockInfo
	for {
		var err error
		info, err = r.tryLock(ctx, o)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for the repository lock: %w", context.Cause(ctx))
		// Waiters poll every second or so, at random offsets so that they
		// do not all try at the same instant when the holder leaves.
		case <-time.After(min(time.Second+mathrand.N(500*time.Millisecond), time.Until(deadline)+time.Millisecond)):
		}
	}
	lockCtx, cancel := context.WithCancelCause(ctx)
	refreshCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lock{repo: r, info: info, stop: stop, done: make(chan struct{}), cancel: cancel}
	go l.refresh(refreshCtx)
	return l, lockCtx, nil
}

// settle is how long a run that wrote its lock waits for younger
// competitors (runs that started at the same moment) to see it and back
// off.
const settle = 3 * time.Second

// newLockInfo names a lock object after the time it is written, to the
// nanosecond: lock keys then sort by age, which decides between runs that
// start together.
func newLockInfo(o LockOptions) LockInfo {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	now := time.Now().UTC()
	return LockInfo{
		Key:  snapshot.LockPrefix + now.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(rnd[:]) + ".json",
		Host: o.Host, PID: os.Getpid(), Operation: o.Operation, Created: now, Refreshed: now, TTL: Duration(o.TTL),
		Process: self(),
	}
}

// tryLock checks for live locks, writes ours and checks again. Runs that
// pass the first check together then see each other's locks (both stores
// read their own writes, so of two runs at least the later checker sees
// the other). The run with the oldest lock key stays and waits for the
// younger ones to back off; a younger one backs off at once. Two runs can
// therefore never both hold the lock, and of runs that start together one
// gets it instead of all giving up. The winner marks its lock as held, so
// that an older run that missed it (its lock became visible too late)
// backs off as well instead of running after it.
func (r *Repository) tryLock(ctx context.Context, o LockOptions) (LockInfo, error) {
	// Any live lock stops us here.
	if other, err := r.liveOthers(ctx, "", o); err != nil || other != nil {
		if err != nil {
			return LockInfo{}, err
		}
		return LockInfo{}, other
	}
	info := newLockInfo(o)
	if err := r.putLock(ctx, info); err != nil {
		return info, err
	}
	backOff := func(err error) (LockInfo, error) {
		_ = r.store.Delete(context.WithoutCancel(ctx), info.Key)
		return info, err
	}
	waitUntil := time.Now().Add(settle)
	for {
		younger, err := r.liveOthers(ctx, info.Key, o)
		switch {
		case err != nil: // an older lock (ErrLocked), or the store failed
			return backOff(err)
		case younger == nil:
			info.Held = true
			if err := r.putLock(ctx, info); err != nil {
				return backOff(err)
			}
			r.removeStale(ctx, info.Key, o.Host)
			return info, nil
		case younger.holder.Held || time.Now().After(waitUntil):
			// The younger run did not see our lock in time and holds
			// the repository.
			return backOff(younger)
		}
		select {
		case <-ctx.Done():
			return backOff(context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeStale takes over the locks of holders that died (SIGKILL, a crash):
// with the lock held, their stale lock objects are deleted so they do not
// pile up. A holder that is alive but could not refresh has already given
// up (see refresh), so nothing still runs under a lock deleted here.
// Failures are harmless: a stale lock is ignored by every check anyway.
func (r *Repository) removeStale(ctx context.Context, own, host string) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return
	}
	for _, l := range locks {
		if stale, _ := staleFor(l, time.Now(), host); l.Key != own && stale {
			_ = r.store.Delete(ctx, l.Key)
		}
	}
}

// lockedError is ErrLocked naming the holder.
type lockedError struct{ holder LockInfo }

func (e *lockedError) Error() string {
	return fmt.Sprintf("%s: %s; if that process is gone, wait until the lock is stale after %s or run 'zuulstate unlock --all'",
		ErrLocked, e.holder, time.Duration(e.holder.TTL))
}

func (e *lockedError) Unwrap() error { return ErrLocked }

// liveOthers looks at the live locks other than own. It fails with a
// *lockedError naming an older one (older key: written earlier), and
// returns one naming a younger one if only younger ones exist. A lock whose
// holder on this machine is gone is not live: it is logged as a warning.
func (r *Repository) liveOthers(ctx context.Context, own string, o LockOptions) (younger *lockedError, err error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for _, l := range locks {
		if l.Key == own {
			continue
		}
		stale, why := staleFor(l, now, o.Host)
		if stale && !l.Stale(now) && !o.warned[l.Key] {
			o.warned[l.Key] = true
			o.Log.Warn(fmt.Sprintf("repository lock %s is stale: %s; taking it over", l, why), "lock", l.Key)
		}
		if stale {
			continue
		}
		if l.Key < own {
			return nil, &lockedError{holder: l}
		}
		if younger == nil {
			younger = &lockedError{holder: l}
		}
	}
	return younger, nil
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

// RemoveLocks deletes stale locks (not refreshed within their TTL, or held
// by a process of this machine, as host, that is gone), or all locks when
// all is set, and returns what it removed.
func (r *Repository) RemoveLocks(ctx context.Context, host string, all bool) ([]LockInfo, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if stale, _ := staleFor(l, time.Now(), host); !all && !stale {
			continue
		}
		if err := r.store.Delete(ctx, l.Key); err != nil {
			return removed, fmt.Errorf("remove lock %s: %w", l.Key, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}
