package repository

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Process identifies a lock holder's process on its machine well enough
// that a later run there can tell it has died: a pid alone is not enough,
// because the kernel hands it to another process later, and the same pid
// means something else in another pid namespace (a container) or after a
// reboot.
type Process struct {
	// Machine is /etc/machine-id: stable across reboots, distinct per
	// installed machine.
	Machine string `json:"machine,omitempty"`
	// Boot is the kernel's boot id, new at every boot.
	Boot string `json:"boot"`
	// PIDNamespace is the pid namespace (the link /proc/self/ns/pid).
	PIDNamespace string `json:"pid_namespace"`
	// Start is the process start time in clock ticks after boot.
	Start uint64 `json:"start"`
}

// self is this process's identity, nil where it cannot be read (then no
// lock of this machine is ever taken for dead before its TTL).
var self = sync.OnceValue(func() *Process { return processOf(os.Getpid()) })

// holderGone reports whether l was taken by a process on this machine that
// no longer runs, with the reason; host is this run's host name. It never
// guesses: a lock of another host name, machine or pid namespace, or
// without a recorded identity, is left to its TTL.
func holderGone(l LockInfo, host string, me *Process, lookup func(pid int) *Process) (bool, string) {
	p := l.Process
	if l.Host != host || p == nil || me == nil || p.Boot == "" || p.PIDNamespace == "" {
		return false, ""
	}
	if p.Boot != me.Boot {
		// A reboot ended every process of the old boot; a boot id of
		// another machine (given the same host name) tells nothing.
		if p.Machine != "" && p.Machine == me.Machine {
			return true, "the machine restarted since it was taken"
		}
		return false, ""
	}
	if p.PIDNamespace != me.PIDNamespace {
		return false, ""
	}
	now := lookup(l.PID)
	switch {
	case now == nil:
		return true, fmt.Sprintf("process %d no longer exists", l.PID)
	case now.Start != p.Start:
		return true, fmt.Sprintf("pid %d now belongs to another process", l.PID)
	}
	return false, ""
}

// staleFor reports whether l no longer holds the repository for a run of
// host: it was not refreshed within its TTL, or its holder is gone.
func staleFor(l LockInfo, now time.Time, host string) (bool, string) {
	if l.Stale(now) {
		return true, fmt.Sprintf("not refreshed since %s", l.Refreshed.Format(time.RFC3339))
	}
	return holderGone(l, host, self(), processOf)
}
