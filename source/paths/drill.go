package paths

import (
	"context"
	"path/filepath"

	restorepaths "github.com/zuulstate/zuulstate/restore/paths"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// drillScratch extracts every paths part below the drill's directory,
// which the drill creates and removes itself: the source has no names of
// its own to record.
type drillScratch struct{ r source.DrillRequest }

func drill(r source.DrillRequest) (source.Scratch, error) { return drillScratch{r}, nil }

func (d drillScratch) Plan(context.Context, []snapshot.Part) (source.ScratchPlan, error) {
	dir := filepath.Join(d.r.Dir, "paths")
	return source.ScratchPlan{Restorer: &restorepaths.Restorer{Target: dir, Log: d.r.Log}, Destination: "directory " + dir}, nil
}

func (drillScratch) Existing(context.Context, []source.ScratchName) ([]source.ScratchName, error) {
	return nil, nil
}

func (drillScratch) Remove(context.Context, []source.ScratchName) error { return nil }

func (drillScratch) Close() error { return nil }
