package config

import (
	"errors"
	"fmt"
	"path/filepath"
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

// PathsRestore says where paths parts go: DIR/<part name>, or back where
// they were taken from.
type PathsRestore struct {
	Dir      string `yaml:"dir,omitempty"`
	Original bool   `yaml:"original,omitempty"`
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
		where := "targets." + name
		if m := t.MariaDB; m != nil {
			if err := resolveSecret(where+".mariadb.password", &m.Password, m.PasswordFile, "ZUULSTATE_MARIADB_RESTORE_PASSWORD", getenv); err != nil {
				return err
			}
		}
		if z := t.ZooKeeper; z != nil && z.Auth != nil {
			if err := resolveSecret(where+".zookeeper.auth.password", &z.Auth.Password, z.Auth.PasswordFile, "ZUULSTATE_ZOOKEEPER_RESTORE_PASSWORD", getenv); err != nil {
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
		if p := t.Paths; p != nil {
			switch {
			case p.Dir != "" && p.Original:
				errs = append(errs, fmt.Errorf("%s.paths: set dir or original, not both", where))
			case p.Dir == "" && !p.Original:
				errs = append(errs, fmt.Errorf("%s.paths: set dir (each part goes to DIR/<part name>) or original: true", where))
			case p.Dir != "" && !filepath.IsAbs(p.Dir):
				errs = append(errs, fmt.Errorf("%s.paths.dir %q must be an absolute path", where, p.Dir))
			}
		}
		if m := t.MariaDB; m != nil {
			if m.TLS != nil && (m.TLS.CertFile == "") != (m.TLS.KeyFile == "") {
				errs = append(errs, fmt.Errorf("%s.mariadb.tls: cert_file and key_file go together", where))
			}
			if m.Addr != "" && m.Socket != "" {
				errs = append(errs, fmt.Errorf("%s.mariadb: set at most one of addr or socket", where))
			}
			if m.Workers < 0 {
				errs = append(errs, fmt.Errorf("%s.mariadb.workers must not be negative", where))
			}
			for from, to := range m.DBMap {
				if from == "" || to == "" || strings.ContainsAny(from+to, "/\\\x00") {
					errs = append(errs, fmt.Errorf("%s.mariadb.db_map: %q: %q are not both database names", where, from, to))
				}
			}
		}
		if z := t.ZooKeeper; z != nil {
			errs = append(errs, z.validateAt(where+".zookeeper")...)
		}
	}
	if len(errs) > 0 {
		return []error{errors.Join(errs...)}
	}
	return nil
}
