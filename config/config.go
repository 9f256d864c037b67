// Package config loads zuulstate's YAML configuration, resolves secrets from
// the environment or *_file paths, validates everything it can without
// touching the network, and renders the result with secrets redacted.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid marks configuration errors; the CLI maps it to exit code 2.
var ErrInvalid = errors.New("invalid configuration")

// Config is the whole configuration file.
type Config struct {
	Repository Repository `yaml:"repository"`
	// Host names this machine in manifests and locks; default: hostname.
	Host      string      `yaml:"host,omitempty"`
	Tags      []string    `yaml:"tags,omitempty"`
	Sources   Sources     `yaml:"sources"`
	Restore   RestoreConf `yaml:"restore,omitempty"`
	Retention Retention   `yaml:"retention,omitempty"`
	// Targets are named restore destinations (restore --target NAME);
	// Restore above is the one used without --target.
	Targets map[string]*Target `yaml:"targets,omitempty"`
	Hooks   Hooks              `yaml:"hooks,omitempty"`
	Metrics Metrics            `yaml:"metrics,omitempty"`
	// StateDir keeps what this host needs between runs: its copy of each
	// repository's chunk-id key and the parent caches that let a backup
	// skip unchanged files. Default: $ZUULSTATE_STATE_DIR, else
	// /var/lib/zuulstate for root, else $XDG_STATE_HOME/zuulstate.
	StateDir string `yaml:"state_dir,omitempty"`
}

// Repository says where snapshots are stored and how they are encoded.
type Repository struct {
	Local      *Local        `yaml:"local,omitempty"`
	S3         *S3           `yaml:"s3,omitempty"`
	LockTTL    time.Duration `yaml:"lock_ttl,omitempty"`
	LockWait   time.Duration `yaml:"lock_wait,omitempty"`
	Level      int           `yaml:"compression_level,omitempty"`
	Encryption Encryption    `yaml:"encryption,omitempty"`
	// Dedup (default true) stores parts as chunks, each kept once across
	// snapshots, sources and hosts (format 3); false writes one object
	// per part (format 2).
	Dedup *bool `yaml:"dedup,omitempty"`
	// PackSize is the size chunk packs are sealed at (default 16MiB).
	PackSize Size `yaml:"pack_size,omitempty"`
	// ForceRead (backup --force-read) reads every file instead of reusing
	// the chunks of files unchanged since the last snapshot.
	ForceRead bool `yaml:"-"`
}

// DedupEnabled reports whether backups write format 3.
func (r Repository) DedupEnabled() bool { return r.Dedup == nil || *r.Dedup }

// Local is a repository in a local (or mounted) directory.
type Local struct {
	Path string `yaml:"path"`
}

// S3 is a repository in an S3-compatible bucket.
type S3 struct {
	Endpoint      string `yaml:"endpoint"`
	Bucket        string `yaml:"bucket"`
	Prefix        string `yaml:"prefix,omitempty"`
	Region        string `yaml:"region,omitempty"`
	Insecure      bool   `yaml:"insecure,omitempty"`
	CAFile        string `yaml:"ca_file,omitempty"`
	SkipVerify    bool   `yaml:"skip_verify,omitempty"`
	Lookup        string `yaml:"lookup,omitempty"`
	AccessKey     Secret `yaml:"access_key,omitempty"`
	AccessKeyFile string `yaml:"access_key_file,omitempty"`
	SecretKey     Secret `yaml:"secret_key,omitempty"`
	SecretKeyFile string `yaml:"secret_key_file,omitempty"`
	SessionToken  Secret `yaml:"session_token,omitempty"`
	PartSize      Size   `yaml:"part_size,omitempty"`
	Parallel      int    `yaml:"parallel,omitempty"`
	Retries       int    `yaml:"retries,omitempty"`
	// ObjectLock writes snapshots with an S3 Object Lock retention.
	ObjectLock *ObjectLock `yaml:"object_lock,omitempty"`
}

// Encryption configures age. Backup needs only recipients (public keys);
// restore and deep verify of encrypted parts need an identity.
type Encryption struct {
	Recipients     []string `yaml:"recipients,omitempty"`
	RecipientsFile string   `yaml:"recipients_file,omitempty"`
	Identity       Secret   `yaml:"identity,omitempty"`
	IdentityFile   string   `yaml:"identity_file,omitempty"`
}

// Sources lists what a backup contains: one section per source, each
// defined in the source's own file of this package.
type Sources struct {
	Paths     PathItems        `yaml:"paths,omitempty"`
	MariaDB   *MariaDBSource   `yaml:"mariadb,omitempty"`
	Volumes   *VolumesSource   `yaml:"volumes,omitempty"`
	ZooKeeper *ZooKeeperSource `yaml:"zookeeper,omitempty"`
}

// RestoreConf configures where restores go: the restore section, and each
// of targets. A source whose restore needs settings of its own has a
// section here.
type RestoreConf struct {
	MariaDB   *MariaDBRestore   `yaml:"mariadb,omitempty"`
	Volumes   *VolumesRestore   `yaml:"volumes,omitempty"`
	ZooKeeper *ZooKeeperRestore `yaml:"zookeeper,omitempty"`
}

// section is a source's part of the file that has secrets to resolve or
// is checked once the whole file is read, named in messages by its place
// (the same types serve restore and every target). A section with neither
// checks itself while it is decoded (volumes). The methods accept a nil
// receiver: the section is not configured.
type section interface {
	// resolveSecrets fills secrets from the environment or their files;
	// where is the section's place in the file, for messages.
	resolveSecrets(where string, getenv func(string) string) error
	validate(where string) []error
}

// placedSection is a section and where it is in the file.
type placedSection struct {
	where string
	section
}

// sections lists every source's sections, backup side before restore side,
// in the order their errors are reported.
func (c *Config) sections() []placedSection {
	return append([]placedSection{
		{"sources.paths", c.Sources.Paths},
		{"sources.mariadb", c.Sources.MariaDB},
		{"sources.zookeeper", c.Sources.ZooKeeper},
	}, c.Restore.sections("restore")...)
}

// sections lists the restore sections below where (restore, or
// targets.NAME).
func (r *RestoreConf) sections(where string) []placedSection {
	return []placedSection{
		{where + ".mariadb", r.MariaDB},
		{where + ".zookeeper", r.ZooKeeper},
	}
}

// Retention is the default prune policy.
type Retention struct {
	KeepLast    int           `yaml:"keep_last,omitempty"`
	KeepHourly  int           `yaml:"keep_hourly,omitempty"`
	KeepDaily   int           `yaml:"keep_daily,omitempty"`
	KeepWeekly  int           `yaml:"keep_weekly,omitempty"`
	KeepMonthly int           `yaml:"keep_monthly,omitempty"`
	KeepYearly  int           `yaml:"keep_yearly,omitempty"`
	OrphanGrace time.Duration `yaml:"orphan_grace,omitempty"`
}

// Load reads, resolves and validates the file at path. getenv is os.Getenv
// outside tests.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w (use --config or ZUULSTATE_CONFIG)", ErrInvalid, path, err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load on bytes already read; name is used in messages.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, explainTypeErrors(err))
	}
	if err := c.resolveSecrets(getenv); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	c.applyDefaults(getenv)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return &c, nil
}

func (c *Config) applyDefaults(getenv func(string) string) {
	if c.Host == "" {
		c.Host, _ = os.Hostname()
	}
	r := &c.Repository
	if r.LockTTL == 0 {
		r.LockTTL = 30 * time.Minute
	}
	if s := r.S3; s != nil {
		if s.Region == "" {
			s.Region = "us-east-1"
		}
		if s.Lookup == "" {
			s.Lookup = "auto"
		}
		if s.PartSize == 0 {
			s.PartSize = 8 << 20
		}
		if s.Parallel == 0 {
			s.Parallel = 2
		}
	}
	if c.Sources.MariaDB != nil {
		c.Sources.MariaDB.applyDefaults()
	}
	if c.Retention.OrphanGrace == 0 {
		c.Retention.OrphanGrace = 24 * time.Hour
	}
	if c.StateDir == "" {
		c.StateDir = defaultStateDir(getenv)
	}
}

// defaultStateDir follows where daemons and users keep state on Linux.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("ZUULSTATE_STATE_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/zuulstate"
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "zuulstate")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "zuulstate")
}

// Redacted renders the configuration as YAML with every secret replaced.
func (c *Config) Redacted() ([]byte, error) {
	return yaml.Marshal(c)
}
