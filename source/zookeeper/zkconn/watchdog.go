package zkconn

import (
	"sync"
	"sync/atomic"
	"time"
)

// callRec is one call in flight.
type callRec struct {
	ctx      interface{ Err() error }
	s        *session
	start    time.Time
	timedOut atomic.Bool
}

// tracker holds the calls in flight for the watchdog.
type tracker struct {
	mu    sync.Mutex
	calls map[*callRec]struct{}
}

func (t *tracker) add(r *callRec) {
	t.mu.Lock()
	t.calls[r] = struct{}{}
	t.mu.Unlock()
}

func (t *tracker) remove(r *callRec) {
	t.mu.Lock()
	delete(t.calls, r)
	t.mu.Unlock()
}

// watchdog drops the connection of a session with a call older than
// RequestTimeout or whose context ended, until the client is closed.
func (c *Client) watchdog() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		var drop []*session
		c.calls.mu.Lock()
		for r := range c.calls.calls {
			late := now.Sub(r.start) > c.cfg.RequestTimeout
			if late {
				r.timedOut.Store(true)
			}
			if late || r.ctx.Err() != nil {
				drop = append(drop, r.s)
			}
		}
		c.calls.mu.Unlock()
		seen := map[*session]bool{}
		for _, s := range drop {
			if !seen[s] {
				seen[s] = true
				c.log.Debug("dropping a zookeeper connection with a call past its timeout or cancelled", "server", c.String())
				s.interrupt()
			}
		}
	}
}

// Interrupt drops the current connection of every session, as a network
// failure would: calls in flight fail with zk.ErrConnectionClosed (reads
// are retried) and the library reconnects to the same sessions. Tests use
// it to prove that nothing is lost when that happens.
func (c *Client) Interrupt() {
	for _, s := range c.sessions {
		s.interrupt()
	}
}
