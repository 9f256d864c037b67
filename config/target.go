package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/zuulstate/zuulstate/snapshot"
)

// Restore profiles of a target: what an instance rebuilt from a snapshot
// may take over from the one it was taken from.
const (
	ProfileDR  = "dr"  // the same instance again: everything but Zuul's runtime state
	ProfileDev = "dev" // a separate dev instance: of ZooKeeper only the keys
)

// Target is one named restore destination (targets.NAME in the file): the
// same settings as restore, plus a profile and where paths parts go.
type Target struct {
	RestoreConf `yaml:",inline"`
	// Profile is dr (default) or dev; it is the default of
	// zookeeper.profile.
	Profile string        `yaml:"profile,omitempty"`
	Paths   *PathsRestore `yaml:"paths,omitempty"`
}

// TargetNames lists the configured target names, sorted.
func (c *Config) TargetNames() []string {
	names := make([]string, 0, len(c.Targets))
	for n := range c.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ForTarget returns a copy of c whose restore section is target name's, so
// MariaDBTarget, ZooKeeperTarget and VolumesEngine answer for that target
// (its unset connection fields still fall back to the sources'). The
// target's profile becomes the zookeeper profile unless that is set.
func (c *Config) ForTarget(name string) (*Config, *Target, error) {
	t := c.Targets[name]
	if t == nil {
		known := "none are configured (add a targets: section)"
		if len(c.Targets) > 0 {
			known = "configured: " + strings.Join(c.TargetNames(), ", ")
		}
		return nil, nil, fmt.Errorf("%w: no restore target %q: %s", ErrInvalid, name, known)
	}
	out := *c
	out.Restore = t.RestoreConf
	if z := t.ZooKeeper; z != nil && z.Profile == "" {
		zc := *z
		zc.Profile = t.profile()
		out.Restore.ZooKeeper = &zc
	} else if z == nil && t.profile() != ProfileDR {
		out.Restore.ZooKeeper = &ZooKeeperRestore{Profile: t.profile()}
	}
	return &out, t, nil
}

func (t *Target) profile() string {
	if t.Profile == "" {
		return ProfileDR
	}
	return t.Profile
}

// ProfileName is the target's profile, dr when unset.
func (t *Target) ProfileName() string { return t.profile() }

func (c *Config) resolveTargetSecrets(getenv func(string) string) error {
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		if t == nil {
			continue
		}
		for _, s := range t.sections("targets." + name) {
			if err := s.resolveSecrets(s.where, getenv); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateTargets checks every target; messages name targets.NAME….
// Volumes settings are checked while the file is decoded.
func (c *Config) validateTargets() []error {
	var errs []error
	for _, name := range c.TargetNames() {
		where := "targets." + name
		if err := snapshot.CheckName("target", name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		t := c.Targets[name]
		if t == nil {
			errs = append(errs, fmt.Errorf("%s: empty target; give at least one of paths, mariadb, zookeeper, volumes", where))
			continue
		}
		if !slices.Contains([]string{"", ProfileDR, ProfileDev}, t.Profile) {
			errs = append(errs, fmt.Errorf("%s.profile %q: use dr (the same instance) or dev (a separate instance)", where, t.Profile))
		}
		errs = append(errs, t.Paths.validate(where+".paths")...)
		for _, s := range t.sections(where) {
			errs = append(errs, s.validate(s.where)...)
		}
	}
	if len(errs) > 0 {
		return []error{errors.Join(errs...)}
	}
	return nil
}
