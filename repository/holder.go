package repository

import (
	"os"
	"time"
)

// Holder is a run that holds something in the repository besides the lock
// (a restore drill holds its record of scratch names), identified as lock
// holders are, so that a later run can tell the same way that it died.
type Holder struct {
	Host    string   `json:"host"`
	PID     int      `json:"pid"`
	Process *Process `json:"process,omitempty"`
	// Refreshed is the last time the holder said it was alive; TTL is how
	// long that counts.
	Refreshed time.Time `json:"refreshed"`
	TTL       Duration  `json:"ttl"`
}

// CurrentHolder is this process, as run on host, alive now for ttl.
func CurrentHolder(host string, ttl time.Duration) Holder {
	return Holder{Host: host, PID: os.Getpid(), Process: self(), Refreshed: time.Now().UTC(), TTL: Duration(ttl)}
}

// Gone reports whether the holder no longer runs, as seen by a run of
// host at now, with the reason: it was not refreshed within its TTL, or
// it was a process of this machine that is gone (see LockInfo).
func (h Holder) Gone(now time.Time, host string) (bool, string) {
	return staleFor(LockInfo{Host: h.Host, PID: h.PID, Process: h.Process, Refreshed: h.Refreshed, TTL: h.TTL}, now, host)
}
