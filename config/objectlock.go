package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zuulstate/zuulstate/chunkstore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage/s3"
)

// ObjectLock is repository.s3.object_lock: snapshots (parts and manifests)
// are written with an S3 Object Lock retention, so that the backup
// credentials alone cannot delete them before Retain has passed. The lock
// objects stay unretained. The bucket must have been created with Object
// Lock enabled and without a default retention.
type ObjectLock struct {
	// Mode is governance (an account with s3:BypassGovernanceRetention can
	// still delete) or compliance (nobody can until the retention ends).
	Mode string `yaml:"mode"`
	// Retain is how long each object stays locked after it was written;
	// prune reports snapshots it may not delete yet.
	Retain time.Duration `yaml:"retain"`
}

// maxRetain guards against a typo (a digit too many): a compliance lock
// cannot be lifted by anyone, so a mistake would be paid for in storage
// for that long.
const maxRetain = 10 * 365 * 24 * time.Hour

// UnmarshalYAML decodes strictly and validates.
func (l *ObjectLock) UnmarshalYAML(n *yaml.Node) error {
	type plain ObjectLock
	if err := strictDecode(n, (*plain)(l)); err != nil {
		return err
	}
	l.Mode = strings.ToLower(l.Mode)
	const where = "repository.s3.object_lock"
	switch {
	case l.Mode != "governance" && l.Mode != "compliance":
		return lineErr(n, fmt.Errorf("%s.mode %q: want governance or compliance", where, l.Mode))
	case l.Retain <= 0:
		return lineErr(n, fmt.Errorf("%s.retain is required: how long snapshots stay undeletable, for example 720h", where))
	case l.Retain < time.Minute:
		return lineErr(n, fmt.Errorf("%s.retain %s is shorter than a minute: a backup run outlives it", where, l.Retain))
	case l.Retain > maxRetain:
		return lineErr(n, fmt.Errorf("%s.retain %s is longer than 10 years: a typo?", where, l.Retain))
	}
	return nil
}

// s3ObjectLock is the storage setting for l: retention on manifests,
// parts and the chunk store (packs, indexes, keys, repo.json), never on
// the repository's lock objects or status.
func (l *ObjectLock) s3ObjectLock() *s3.ObjectLock {
	if l == nil {
		return nil
	}
	return &s3.ObjectLock{
		Mode:   strings.ToUpper(l.Mode),
		Retain: l.Retain,
		Prefixes: []string{snapshot.ManifestPrefix, snapshot.PartPrefix,
			chunkstore.PackPrefix, chunkstore.IndexPrefix, chunkstore.KeyPrefix, chunkstore.ConfigKey},
	}
}
