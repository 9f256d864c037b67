// Package volumespart is what both directions of the volumes source share
// about its parts: the manifest metadata of a copied volume or bind path,
// the ways a copy is taken and what each way loses. docs/VOLUMES.md
// describes them; the archive inside is dirtar's.
package volumespart

import (
	"time"

	"github.com/zuulstate/zuulstate/dirtar"
)

// SourceName is the source name recorded in manifests.
const SourceName = "volumes"

// Modes choose the way to the bytes.
const (
	ModeAuto   = "auto" // direct when the mountpoint is readable here
	ModeDirect = "direct"
	ModeAPI    = "api"
)

// Kinds of parts.
const (
	KindVolume = "volume" // a named (or anonymous) Docker volume
	KindBind   = "bind"   // a host directory bind-mounted into containers
)

// Ways to the bytes.
const (
	// WayDirect reads the mountpoint or bind path with dirtar: everything
	// survives.
	WayDirect = "direct"
	// WayAPI reads through the engine's archive endpoint from a helper
	// container: see LostByAPI.
	WayAPI = "api"
)

// What the engine's archive (CopyFromContainer) does not keep, measured
// on Docker 20.10 by the round-trip tests. Recorded in Meta.Lost.
// Mtimes before 1970 survive: the engine writes them as PAX mtime records
// (its ustar field says 0, which is what readers ignoring PAX show).
const (
	LostMtimeNsec = "mtime_nsec" // mtimes are whole seconds
	LostXattrs    = "xattrs"     // all but security.capability
	LostACLs      = "acls"       // POSIX ACLs (system.posix_acl_*)
	LostHoles     = "holes"      // sparse files arrive dense
)

// LostByAPI lists every attribute the API way loses, in a fixed order.
var LostByAPI = []string{LostMtimeNsec, LostXattrs, LostACLs, LostHoles}

// Copy kinds.
const (
	CopyCold = "cold" // the containers using it were stopped
	CopyHot  = "hot"  // copied while containers using it may write
)

// Meta is recorded in the manifest for each part.
type Meta struct {
	Kind   string      `json:"kind"`
	Volume *VolumeMeta `json:"volume,omitempty"`
	// Path is a bind part's host directory.
	Path string `json:"path,omitempty"`
	// Mounts lists every container that mounts it and where, so a
	// restore (or an operator) can rebuild the same layout.
	Mounts  []MountMeta `json:"mounts,omitempty"`
	Way     string      `json:"way"`
	Lost    []string    `json:"lost,omitempty"`
	Exclude []string    `json:"exclude,omitempty"`
	Copy    string      `json:"copy"`
	// Stopped lists the containers stopped for this copy. Parts copied
	// under one stop share the records; StartedAt is set on the last one.
	Stopped []StopMeta `json:"stopped,omitempty"`
	// Writers are the running containers that mount it read-write during
	// a hot copy.
	Writers []string          `json:"running_writers,omitempty"`
	Stats   dirtar.WriteStats `json:"stats"`
	Engine  string            `json:"engine_version,omitempty"`
}

// VolumeMeta is what a restore needs to recreate a volume.
type VolumeMeta struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"`
	DriverOpts map[string]string `json:"driver_opts,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// MountMeta is one container's mount of a part.
type MountMeta struct {
	Container   string `json:"container"`
	Destination string `json:"destination"`
	ReadWrite   bool   `json:"rw"`
	// Sub is the mount's source relative to the part's path when the
	// container mounts a directory below it (bind parts only).
	Sub string `json:"sub,omitempty"`
}

// StopMeta records one container stopped for a cold copy.
type StopMeta struct {
	Container string    `json:"container"`
	ID        string    `json:"id"`
	StoppedAt time.Time `json:"stopped_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Seconds is how long it was down; set with StartedAt.
	Seconds float64 `json:"down_seconds,omitempty"`
}
