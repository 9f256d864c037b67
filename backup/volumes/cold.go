package volumes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// ref names a container.
type ref struct{ id, name string }

// stopper stops containers for a cold copy and starts them again in
// reverse order. restart may be called any number of times: it starts
// what is still stopped, so the success path and the deferred path can
// both call it.
type stopper struct {
	api     engine.API
	timeout time.Duration
	log     *slog.Logger
	owner   string                  // this run's engine.LabelOwner, recorded in stop marks
	all     []*volumespart.StopMeta // in stop order
	pending []*volumespart.StopMeta // stopped and not started again
	marks   map[*volumespart.StopMeta]string
}

// stop stops each container that is still running, in order. On error
// the ones already stopped stay in pending for restart.
func (s *stopper) stop(ctx context.Context, refs []ref) error {
	secs := int(s.timeout / time.Second)
	for _, r := range refs {
		ins, err := s.api.ContainerInspect(ctx, r.id)
		if err != nil {
			return fmt.Errorf("inspect container %s before stopping it: %w", r.name, err)
		}
		if ins.State == nil || !ins.State.Running {
			continue // stopped meanwhile by someone else: leave it so
		}
		s.log.Info("stopping container for a cold copy", "container", r.name, "timeout", s.timeout)
		rec := &volumespart.StopMeta{Container: r.name, ID: r.id, StoppedAt: time.Now().UTC()}
		mark, err := markStop(ctx, s.api, s.owner, rec)
		if err != nil {
			return err // nothing stopped yet: a stop without a mark could outlive a kill
		}
		if s.marks == nil {
			s.marks = map[*volumespart.StopMeta]string{}
		}
		s.marks[rec] = mark
		if err := s.api.ContainerStop(ctx, r.id, container.StopOptions{Timeout: &secs}); err != nil {
			// It may be stopped anyway (the stop timed out into a kill,
			// or ctx ended mid-call): start it again to be sure.
			s.all = append(s.all, rec)
			s.pending = append(s.pending, rec)
			return fmt.Errorf("stop container %s: %w", r.name, err)
		}
		s.all = append(s.all, rec)
		s.pending = append(s.pending, rec)
	}
	return nil
}

// restart starts every pending container, last stopped first. A
// container that fails to start stays pending; all failures are joined
// into one error telling the operator what to start by hand.
func (s *stopper) restart(ctx context.Context) error {
	var errs []error
	var still []*volumespart.StopMeta
	for i := len(s.pending) - 1; i >= 0; i-- {
		rec := s.pending[i]
		// The engine answers 304, which the client takes as success, for
		// a container someone else started meanwhile.
		if err := s.api.ContainerStart(ctx, rec.ID, container.StartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("container %s was stopped for a cold copy and could not be started again: %w (start it by hand: docker start %s)", rec.Container, err, rec.Container))
			still = append([]*volumespart.StopMeta{rec}, still...)
			continue
		}
		unmarkStop(ctx, s.api, s.marks[rec], s.log)
		rec.StartedAt = time.Now().UTC()
		rec.Seconds = rec.StartedAt.Sub(rec.StoppedAt).Round(time.Millisecond).Seconds()
		s.log.Info("container started again", "container", rec.Container, "down", time.Duration(rec.Seconds*float64(time.Second)))
	}
	s.pending = still
	return errors.Join(errs...)
}

// records returns copies of what was stopped so far.
func (s *stopper) records() []volumespart.StopMeta {
	out := make([]volumespart.StopMeta, 0, len(s.all))
	for _, r := range s.all {
		out = append(out, *r)
	}
	return out
}
