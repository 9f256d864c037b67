package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// Labels on every container and image zuulstate creates.
const (
	// LabelHelper marks zuulstate's helpers ("true").
	LabelHelper = "zuulstate.helper"
	// LabelOwner names the run that made it: host/pid/process start, so
	// a later run can tell a crashed run's leftovers from a live run's.
	LabelOwner = "zuulstate.owner"
)

// staleAfter is when a helper whose owner cannot be checked (another
// host) counts as left behind. Helpers live for one copy or one restore.
const staleAfter = 24 * time.Hour

func ownerLabel() string { return OwnerOf(os.Getpid()) }

// OwnerOf is the owner label a run in process pid of this host carries.
func OwnerOf(pid int) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, pid, procStart(pid))
}

// procStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/PID/stat), which tells a live owner from a recycled
// pid; "" where /proc has no answer.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'. starttime is the 20th field from there.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// OwnerGone reports whether the run that labelled an object is over: on
// this host, its process is gone; on another, the object is a day old.
func OwnerGone(owner string, created time.Time) bool { return ownerGone(owner, created) }

// ownerGone reports whether the run that labelled a helper is over.
func ownerGone(owner string, created time.Time) bool {
	parts := strings.Split(owner, "/")
	host, _ := os.Hostname()
	if len(parts) != 3 || parts[0] != host {
		return time.Since(created) > staleAfter
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return true
	}
	return procStart(pid) != parts[2] || parts[2] == ""
}

// CleanupStale removes helper containers and images left by runs that
// are no longer alive (a crash, a kill -9), and reports how many.
func (e *Engine) CleanupStale(ctx context.Context) (int, error) {
	n := 0
	cs, err := e.API.ContainerList(ctx, container.ListOptions{All: true, Filters: HelperFilter()})
	if err != nil {
		return 0, e.Wrap(err, "list helper containers")
	}
	var errs []error
	for _, c := range cs {
		if c.Labels[LabelOwner] == e.owner || !ownerGone(c.Labels[LabelOwner], time.Unix(c.Created, 0)) {
			continue
		}
		if err := e.API.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: false}); err != nil && !IsNotFound(err) {
			errs = append(errs, e.Wrap(err, "remove stale helper container "+c.ID[:12]))
			continue
		}
		n++
	}
	imgs, err := e.API.ImageList(ctx, image.ListOptions{All: true, Filters: HelperFilter()})
	if err != nil {
		return n, errors.Join(append(errs, e.Wrap(err, "list helper images"))...)
	}
	for _, img := range imgs {
		if img.Labels[LabelOwner] == e.owner || !ownerGone(img.Labels[LabelOwner], time.Unix(img.Created, 0)) {
			continue
		}
		// Not forced: an image still used by a live run's helper stays.
		if _, err := e.API.ImageRemove(ctx, img.ID, image.RemoveOptions{PruneChildren: true}); err != nil && !IsNotFound(err) {
			errs = append(errs, e.Wrap(err, "remove stale helper image "+img.ID))
			continue
		}
		n++
	}
	if n > 0 {
		e.log.Info("removed helpers left behind by an earlier run", "count", n, "engine", e.Host)
	}
	return n, errors.Join(errs...)
}
