package job

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/storage/local"
)

// TestClaimDrill: of drills that start together on one target exactly one
// goes ahead; a live record stops a drill, a record whose holder is gone
// (killed) or stale does not.
func TestClaimDrill(t *testing.T) {
	settle = 200 * time.Millisecond
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rec := func() drillRecord {
		return drillRecord{Target: "drill", SnapshotID: "20260101T000000Z-00000000", Started: time.Now(),
			Holder: repository.CurrentHolder("h", time.Hour), Scratch: []source.ScratchName{{Kind: "directory", Name: "/x/" + source.DrillPrefix + "1"}}}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*drillClaim
	locked := 0
	for range 4 {
		wg.Go(func() {
			c, _, err := claimDrill(t.Context(), st, rec(), time.Hour, log)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, c)
			case errors.Is(err, repository.ErrLocked):
				locked++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || locked != 3 {
		t.Fatalf("%d drills went ahead, %d backed off; want 1 and 3", len(won), locked)
	}
	if _, _, err := claimDrill(t.Context(), st, rec(), time.Hour, log); !errors.Is(err, repository.ErrLocked) {
		t.Fatalf("a live record did not stop a drill: %v", err)
	}
	// Kept after a failed cleanup, the record is the next drill's to take.
	if err := won[0].release(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	stale := rec()
	stale.Holder.Refreshed = time.Now().Add(-2 * time.Hour)
	if err := writeDrillRecord(t.Context(), st, &stale); err != nil {
		t.Fatal(err)
	}
	c, _, err := claimDrill(t.Context(), st, rec(), time.Hour, log)
	if err != nil {
		t.Fatalf("a stale record stopped a drill: %v", err)
	}
	if err := c.release(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if got, err := readDrillRecord(t.Context(), st, "drill"); got != nil || err != nil {
		t.Fatalf("record after release: %v, %v", got, err)
	}
}
