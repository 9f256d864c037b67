package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// A run that is killed (SIGKILL, OOM, power loss) between stopping a
// container and starting it again cannot restart it itself. Before each
// stop it therefore leaves a mark on the engine — an empty volume with the
// labels below — and removes the mark once the container runs again. The
// next backup run on that engine finds marks whose owner is gone and starts
// their containers. A volume is the one engine object that carries labels
// and needs no image; it lives on the engine, so the guarantee holds for
// remote engines and across hosts too.
const (
	// LabelStoppedBy marks a stop mark; its value is the container id.
	LabelStoppedBy = "zuulstate.stopped-container"
	// labelStoppedName is the container's name, for messages.
	labelStoppedName = "zuulstate.stopped-name"
	// labelStoppedAt is when the stop was requested (RFC 3339, UTC).
	labelStoppedAt = "zuulstate.stopped-at"
	// stopMarkPrefix starts every stop mark's volume name.
	stopMarkPrefix = "zuulstate-stopped-"
)

// markStop records on the engine that the run with owner is about to stop
// the container in rec, and returns the mark's name.
func markStop(ctx context.Context, api engine.API, owner string, rec *volumespart.StopMeta) (string, error) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := stopMarkPrefix + short(rec.ID) + "-" + hex.EncodeToString(rnd[:])
	_, err := api.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: map[string]string{
		engine.LabelOwner: owner,
		LabelStoppedBy:    rec.ID,
		labelStoppedName:  rec.Container,
		labelStoppedAt:    rec.StoppedAt.Format(time.RFC3339Nano),
	}})
	if err != nil {
		return "", fmt.Errorf("record the stop of container %s on the engine before stopping it: %w", rec.Container, err)
	}
	return name, nil
}

// unmarkStop removes a mark once its container runs again. A mark that
// stays behind is harmless: the next run sees a running container and
// removes it.
func unmarkStop(ctx context.Context, api engine.API, name string, log *slog.Logger) {
	if name == "" {
		return
	}
	if err := api.VolumeRemove(ctx, name, true); err != nil && !engine.IsNotFound(err) {
		log.Warn("could not remove the stop mark of a restarted container; the next run removes it", "volume", name, "error", err)
	}
}

// restartLeftStopped starts the containers that runs which are gone (a
// kill, a crash) stopped and never started again, and removes their marks.
// A container started since the mark was made (by an operator, by a
// restart policy) and stopped again is left as it is: that stop was not
// zuulstate's. It returns the names of the containers it started.
func restartLeftStopped(ctx context.Context, api engine.API, own string, log *slog.Logger) ([]string, error) {
	list, err := api.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelStoppedBy))})
	if err != nil {
		return nil, fmt.Errorf("list the stop marks of earlier runs: %w", err)
	}
	var started []string
	var errs []error
	for _, v := range list.Volumes {
		if v == nil || v.Labels[engine.LabelOwner] == own {
			continue
		}
		created, _ := time.Parse(time.RFC3339, v.CreatedAt)
		if !engine.OwnerGone(v.Labels[engine.LabelOwner], created) {
			continue // a run that is still copying
		}
		id, name := v.Labels[LabelStoppedBy], v.Labels[labelStoppedName]
		stoppedAt, _ := time.Parse(time.RFC3339Nano, v.Labels[labelStoppedAt])
		ins, err := api.ContainerInspect(ctx, id)
		switch {
		case engine.IsNotFound(err):
			// Removed since: nothing to start.
		case err != nil:
			errs = append(errs, fmt.Errorf("inspect container %s, stopped by an interrupted run: %w", name, err))
			continue
		case ins.State == nil || ins.State.Running:
			// Running again already.
		case startedAfter(ins.State.StartedAt, stoppedAt):
			log.Warn("container stopped by an interrupted run was started and stopped again since; leaving it stopped", "container", name)
		default:
			if err := api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("container %s was stopped by an interrupted run and could not be started again: %w (start it by hand: docker start %s)", name, err, name))
				continue
			}
			log.Warn("started a container that an interrupted run had left stopped", "container", name, "stopped_at", stoppedAt)
			started = append(started, name)
		}
		if err := api.VolumeRemove(ctx, v.Name, true); err != nil && !engine.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove stop mark %s: %w", v.Name, err))
		}
	}
	return started, errors.Join(errs...)
}

// startedAfter reports whether the engine's StartedAt (RFC 3339) is later
// than the stop a mark records; an unreadable time counts as not later, so
// the container is started rather than left down.
func startedAfter(engineTime string, stoppedAt time.Time) bool {
	t, err := time.Parse(time.RFC3339Nano, engineTime)
	return err == nil && !stoppedAt.IsZero() && t.After(stoppedAt)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
