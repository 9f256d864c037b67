package job

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
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/storage"
)

// drillRecordPrefix holds one record per drill target of the drill that
// runs into it, or that was killed while it did: the scratch names it
// creates, written before it creates them and deleted once they are gone.
// The next drill into the target removes what a killed one left, and a
// drill that finds a live record does not start.
const drillRecordPrefix = "status/drills/"

// drillRecord is that record.
type drillRecord struct {
	// Run tells two drills that wrote the record at the same moment apart.
	Run        string               `json:"run"`
	Target     string               `json:"target"`
	SnapshotID string               `json:"snapshot_id"`
	Started    time.Time            `json:"started"`
	Holder     repository.Holder    `json:"holder"`
	Scratch    []source.ScratchName `json:"scratch"`
}

func (r *drillRecord) String() string {
	return fmt.Sprintf("drill of snapshot %s by %s pid %d, started %s", r.SnapshotID, r.Holder.Host, r.Holder.PID, r.Started.Format(time.RFC3339))
}

// drillClaim is a drill's hold on its target's record, refreshed until
// released, as the repository lock is.
type drillClaim struct {
	store storage.Store
	key   string
	rec   drillRecord
	ttl   time.Duration
	log   *slog.Logger
	stop  context.CancelFunc
	done  chan struct{}
	// cancel ends the drill's work context.
	cancel context.CancelCauseFunc
}

// settle is how long a drill waits after writing its record before it
// reads it back: of two drills that started together, the one whose
// record was overwritten backs off.
var settle = time.Second

func drillRecordKey(target string) string { return drillRecordPrefix + target + ".json" }

// readDrillRecord returns the target's record, nil when there is none.
func readDrillRecord(ctx context.Context, st storage.Store, target string) (*drillRecord, error) {
	key := drillRecordKey(target)
	rc, err := st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	var rec drillRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s in %s is not valid JSON: %w (delete it once no drill runs into target %s)", key, st, err, target)
	}
	return &rec, nil
}

func writeDrillRecord(ctx context.Context, st storage.Store, rec *drillRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	key := drillRecordKey(rec.Target)
	if err := st.Put(ctx, key, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// errDrillRunning says another drill holds the target.
func errDrillRunning(rec *drillRecord) error {
	return fmt.Errorf("%w: another %s runs into target %s (record %s); if it is gone, the record goes stale after %s",
		repository.ErrLocked, rec, rec.Target, drillRecordKey(rec.Target), time.Duration(rec.Holder.TTL))
}

// claimDrill writes rec for its target, unless a live drill holds the
// target, and refreshes it until release. The returned context is ctx,
// cancelled if the record can no longer be refreshed: another drill would
// take the target for free and remove the scratch names under our feet.
func claimDrill(ctx context.Context, st storage.Store, rec drillRecord, ttl time.Duration, log *slog.Logger) (*drillClaim, context.Context, error) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	rec.Run = hex.EncodeToString(rnd[:])
	// Read again just before writing: the target may have been taken
	// since the drill looked at it.
	if prev, err := readDrillRecord(ctx, st, rec.Target); err != nil {
		return nil, nil, err
	} else if prev != nil && prev.Run != rec.Run {
		if gone, _ := prev.Holder.Gone(time.Now(), rec.Holder.Host); !gone {
			return nil, nil, errDrillRunning(prev)
		}
	}
	if err := writeDrillRecord(ctx, st, &rec); err != nil {
		return nil, nil, err
	}
	// Stopped before it holds the target, the drill created nothing: its
	// record goes, unless another drill's replaced it.
	withdraw := func(err error) (*drillClaim, context.Context, error) {
		dctx := context.WithoutCancel(ctx)
		if now, rerr := readDrillRecord(dctx, st, rec.Target); rerr == nil && now != nil && now.Run == rec.Run {
			_ = st.Delete(dctx, drillRecordKey(rec.Target))
		}
		return nil, nil, err
	}
	select {
	case <-ctx.Done():
		return withdraw(context.Cause(ctx))
	case <-time.After(settle):
	}
	now, err := readDrillRecord(ctx, st, rec.Target)
	if err != nil {
		return withdraw(err)
	}
	if now == nil || now.Run != rec.Run {
		if now == nil {
			return nil, nil, fmt.Errorf("%w: the record %s of this drill vanished: another drill removed it", repository.ErrLocked, drillRecordKey(rec.Target))
		}
		return nil, nil, errDrillRunning(now)
	}
	work, cancel := context.WithCancelCause(ctx)
	refreshCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c := &drillClaim{store: st, key: drillRecordKey(rec.Target), rec: rec, ttl: ttl, log: log, stop: stop, done: make(chan struct{}), cancel: cancel}
	go c.refresh(refreshCtx)
	return c, work, nil
}

func (c *drillClaim) refresh(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.ttl / 6)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rec := c.rec
		rec.Holder.Refreshed = time.Now().UTC()
		if err := writeDrillRecord(ctx, c.store, &rec); err != nil {
			c.log.Warn("could not refresh the drill's record", "key", c.key, "error", err)
			if time.Since(c.rec.Holder.Refreshed) > c.ttl*2/3 {
				c.cancel(fmt.Errorf("drill record lost: cannot refresh %s: %w", c.key, err))
				return
			}
			continue
		}
		c.rec = rec
	}
}

// release stops refreshing; with remove it deletes the record, which the
// drill does once every scratch name is gone (otherwise the next drill
// removes what is left).
func (c *drillClaim) release(ctx context.Context, remove bool) error {
	c.stop()
	<-c.done
	c.cancel(nil)
	if !remove {
		return nil
	}
	if err := c.store.Delete(ctx, c.key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("remove %s: %w", c.key, err)
	}
	return nil
}

// removeLeftovers removes the scratch places a killed drill into target
// recorded, and returns them; a drill that still runs stops this one.
func removeLeftovers(ctx context.Context, st storage.Store, target, host string, set *scratchSet, log *slog.Logger) ([]string, error) {
	prev, err := readDrillRecord(ctx, st, target)
	if err != nil || prev == nil {
		return nil, err
	}
	gone, why := prev.Holder.Gone(time.Now(), host)
	if !gone {
		return nil, errDrillRunning(prev)
	}
	existing, err := set.existing(ctx, prev.Scratch)
	if err != nil {
		return nil, fmt.Errorf("look for the leftovers of the %s: %w", prev, err)
	}
	var out []string
	for _, n := range existing {
		out = append(out, n.String())
	}
	log.Warn(fmt.Sprintf("an earlier drill into target %s did not finish (%s): removing its scratch places", target, why),
		"drill", prev.String(), "leftovers", strings.Join(out, ", "))
	if err := set.remove(ctx, existing); err != nil {
		return out, fmt.Errorf("remove the leftovers of the %s: %w", prev, err)
	}
	return out, nil
}
