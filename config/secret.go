package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Secret holds a credential. It prints, formats and marshals as a
// placeholder, so it cannot leak through logs, errors or `config check`;
// Reveal is the one way to the value.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.v != "" }

const redacted = "<redacted>"

func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML redacts.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// UnmarshalYAML reads a plain string.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error { return n.Decode(&s.v) }

// IsZero lets omitempty drop unset secrets.
func (s Secret) IsZero() bool { return s.v == "" }

// resolveSecret picks a secret's value: the environment variable wins, then
// the *_file path, then the inline value. Giving both an inline value and a
// file is an error, since one of them would be silently ignored.
func resolveSecret(what string, inline *Secret, file, envName string, getenv func(string) string) error {
	if inline.IsSet() && file != "" {
		return fmt.Errorf("%s: set either the value or the _file path, not both", what)
	}
	if v := getenv(envName); v != "" {
		*inline = NewSecret(v)
		return nil
	}
	if file != "" {
		data, err := readSecretFile(file)
		if err != nil {
			return fmt.Errorf("%s: read %s: %w", what, file, err)
		}
		*inline = NewSecret(strings.TrimRightFunc(string(data), unicode.IsSpace))
		if !inline.IsSet() {
			return fmt.Errorf("%s: file %s is empty", what, file)
		}
	}
	return nil
}

func (c *Config) resolveSecrets(getenv func(string) string) error {
	if s := c.Repository.S3; s != nil {
		if err := resolveSecret("repository.s3.access_key", &s.AccessKey, s.AccessKeyFile, "ZUULSTATE_S3_ACCESS_KEY", getenv); err != nil {
			return err
		}
		if err := resolveSecret("repository.s3.secret_key", &s.SecretKey, s.SecretKeyFile, "ZUULSTATE_S3_SECRET_KEY", getenv); err != nil {
			return err
		}
		// The AWS variable names are what every S3 tool honours.
		if !s.AccessKey.IsSet() && !s.SecretKey.IsSet() {
			s.AccessKey, s.SecretKey = NewSecret(getenv("AWS_ACCESS_KEY_ID")), NewSecret(getenv("AWS_SECRET_ACCESS_KEY"))
			if !s.SessionToken.IsSet() {
				s.SessionToken = NewSecret(getenv("AWS_SESSION_TOKEN"))
			}
		}
	}
	for _, s := range c.sections() {
		if err := s.resolveSecrets(s.where, getenv); err != nil {
			return err
		}
	}
	if err := c.resolvePushgatewaySecret(getenv); err != nil {
		return err
	}
	if err := c.resolveTargetSecrets(getenv); err != nil {
		return err
	}
	e := &c.Repository.Encryption
	if f := getenv("ZUULSTATE_AGE_IDENTITY_FILE"); f != "" {
		e.IdentityFile, e.Identity = f, Secret{}
	}
	return resolveSecret("repository.encryption.identity", &e.Identity, e.IdentityFile, "ZUULSTATE_AGE_IDENTITY", getenv)
}

// maxSecretFile bounds what a *_file may hold: a credential or an age
// identity is a few hundred bytes, and a wrong path (/dev/zero, a log file)
// must fail instead of filling memory.
const maxSecretFile = 1 << 20

func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("larger than %d bytes: not a credential file", maxSecretFile)
	}
	return data, nil
}
