package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/age"
	"gopkg.in/yaml.v3"

	"github.com/zuulstate/zuulstate/snapshot"
)

// Size is a byte count written as 16MiB, 5MB, 1048576 and so on.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

// UnmarshalYAML parses a size with an optional unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// MarshalYAML prints the size in bytes.
func (s Size) MarshalYAML() (any, error) { return int64(s), nil }

// ParseSize parses "16MiB", "5MB" or a plain byte count.
func ParseSize(text string) (Size, error) {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 16MiB, 5MB, 1048576)", text)
	}
	return Size(n * mult), nil
}

func (c *Config) validate() error {
	var errs []error
	r := c.Repository
	switch {
	case r.Local == nil && r.S3 == nil:
		errs = append(errs, errors.New("repository: configure exactly one of local or s3"))
	case r.Local != nil && r.S3 != nil:
		errs = append(errs, errors.New("repository: local and s3 are both set; choose one"))
	case r.Local != nil && !filepath.IsAbs(r.Local.Path):
		errs = append(errs, fmt.Errorf("repository.local.path %q must be an absolute path", r.Local.Path))
	}
	if s := r.S3; s != nil {
		errs = append(errs, s.validate()...)
	}
	if r.Level < 0 || r.Level > 22 {
		errs = append(errs, fmt.Errorf("repository.compression_level %d: use 1 (fastest) to 22 (smallest)", r.Level))
	}
	if r.PackSize != 0 && (r.PackSize < 256<<10 || r.PackSize > 1<<30) {
		errs = append(errs, fmt.Errorf("repository.pack_size %d: use 256KiB to 1GiB", r.PackSize))
	}
	for _, rc := range r.Encryption.Recipients {
		if _, err := age.ParseX25519Recipient(rc); err != nil {
			errs = append(errs, fmt.Errorf("repository.encryption.recipients: %q is not an age X25519 public key (age1…)", rc))
		}
	}
	for _, s := range c.sections() {
		errs = append(errs, s.validate(s.where)...)
	}
	errs = append(errs, c.validateTargets()...)
	for _, t := range c.Tags {
		if err := snapshot.CheckName("tag", t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *S3) validate() []error {
	var errs []error
	if s.Endpoint == "" || strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/") {
		errs = append(errs, fmt.Errorf("repository.s3.endpoint %q: give host:port without scheme or path (TLS is the default; set insecure: true for plain HTTP)", s.Endpoint))
	}
	if s.Bucket == "" {
		errs = append(errs, errors.New("repository.s3.bucket is required"))
	}
	switch s.Lookup {
	case "auto", "path", "dns":
	default:
		errs = append(errs, fmt.Errorf("repository.s3.lookup %q: use auto, path or dns", s.Lookup))
	}
	if !s.AccessKey.IsSet() || !s.SecretKey.IsSet() {
		errs = append(errs, errors.New("repository.s3: credentials missing: set access_key/secret_key (or *_file), or ZUULSTATE_S3_ACCESS_KEY/ZUULSTATE_S3_SECRET_KEY, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"))
	}
	if s.PartSize < 5<<20 {
		errs = append(errs, fmt.Errorf("repository.s3.part_size %d: S3 needs at least 5MiB", s.PartSize))
	}
	if s.Parallel < 1 || s.Parallel > 64 {
		errs = append(errs, fmt.Errorf("repository.s3.parallel %d: use 1 to 64", s.Parallel))
	}
	if s.Insecure && s.CAFile != "" {
		errs = append(errs, errors.New("repository.s3: ca_file is set but insecure: true disables TLS"))
	}
	return errs
}
