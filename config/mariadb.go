package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// MariaDBConn says how to reach a MariaDB server.
type MariaDBConn struct {
	Addr         string   `yaml:"addr,omitempty"`   // host:port
	Socket       string   `yaml:"socket,omitempty"` // or a unix socket
	User         string   `yaml:"user,omitempty"`
	Password     Secret   `yaml:"password,omitempty"`
	PasswordFile string   `yaml:"password_file,omitempty"`
	TLS          *TLSConf `yaml:"tls,omitempty"`
}

// TLSConf is a client TLS setup: a CA to trust, an optional client
// certificate, and hostname verification unless skip_verify.
type TLSConf struct {
	CAFile     string `yaml:"ca_file,omitempty"`
	CertFile   string `yaml:"cert_file,omitempty"`
	KeyFile    string `yaml:"key_file,omitempty"`
	ServerName string `yaml:"server_name,omitempty"`
	SkipVerify bool   `yaml:"skip_verify,omitempty"`
}

// MariaDBSource is the mariadb backup source.
type MariaDBSource struct {
	MariaDBConn          `yaml:",inline"`
	Databases            []string `yaml:"databases,omitempty"` // default [zuul]; [all] = all but system databases
	Workers              int      `yaml:"workers,omitempty"`
	ChunkRows            int64    `yaml:"chunk_rows,omitempty"`
	LockNonTransactional bool     `yaml:"lock_non_transactional,omitempty"`
	WithGrants           bool     `yaml:"with_grants,omitempty"`
}

// MariaDBRestore is where mariadb parts are restored; unset fields of the
// connection come from the source, so a same-instance restore needs nothing.
type MariaDBRestore struct {
	MariaDBConn `yaml:",inline"`
	DBMap       map[string]string `yaml:"db_map,omitempty"`
	Workers     int               `yaml:"workers,omitempty"`
}

func (c *MariaDBConn) validate(where string) []error {
	var errs []error
	if (c.Addr == "") == (c.Socket == "") {
		errs = append(errs, fmt.Errorf("%s: set exactly one of addr (host:port) or socket", where))
	}
	if c.User == "" {
		errs = append(errs, fmt.Errorf("%s: user is required", where))
	}
	if t := c.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.tls: cert_file and key_file go together", where))
	}
	return errs
}

// TLSConfig builds the client TLS configuration, or nil for plain
// connections.
func (t *TLSConf) TLSConfig() (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // skip_verify is the operator's explicit choice
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.ca_file: %w", ErrInvalid, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: tls.ca_file %s holds no PEM certificate", ErrInvalid, t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.cert_file/key_file: %w", ErrInvalid, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (s *MariaDBSource) applyDefaults() {
	if len(s.Databases) == 0 {
		s.Databases = []string{"zuul"}
	}
}

func (s *MariaDBSource) resolveSecrets(where string, getenv func(string) string) error {
	if s == nil {
		return nil
	}
	return resolveSecret(where+".password", &s.Password, s.PasswordFile, "ZUULSTATE_MARIADB_PASSWORD", getenv)
}

func (s *MariaDBSource) validate(where string) []error {
	if s == nil {
		return nil
	}
	errs := s.MariaDBConn.validate(where)
	for _, d := range s.Databases {
		if d == "" || strings.ContainsAny(d, "/\\\x00") {
			errs = append(errs, fmt.Errorf("%s.databases: %q is not a database name", where, d))
		}
		if d == "all" && len(s.Databases) > 1 {
			errs = append(errs, fmt.Errorf("%s.databases: 'all' cannot be combined with names", where))
		}
	}
	if s.Workers < 0 || s.ChunkRows < 0 {
		errs = append(errs, fmt.Errorf("%s: workers and chunk_rows must not be negative", where))
	}
	return errs
}

func (r *MariaDBRestore) resolveSecrets(where string, getenv func(string) string) error {
	if r == nil {
		return nil
	}
	return resolveSecret(where+".password", &r.Password, r.PasswordFile, "ZUULSTATE_MARIADB_RESTORE_PASSWORD", getenv)
}

// validate checks what the restore section sets; the connection fields it
// leaves out come from the source.
func (r *MariaDBRestore) validate(where string) []error {
	if r == nil {
		return nil
	}
	var errs []error
	if r.TLS != nil && (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.tls: cert_file and key_file go together", where))
	}
	if r.Addr != "" && r.Socket != "" {
		errs = append(errs, fmt.Errorf("%s: set at most one of addr or socket", where))
	}
	if r.Workers < 0 {
		errs = append(errs, fmt.Errorf("%s.workers must not be negative", where))
	}
	for from, to := range r.DBMap {
		if from == "" || to == "" || strings.ContainsAny(from+to, "/\\\x00") {
			errs = append(errs, fmt.Errorf("%s.db_map: %q: %q are not both database names", where, from, to))
		}
	}
	return errs
}

// MariaDBTarget returns the connection restores go to: restore.mariadb with the
// source's settings filling what it leaves out.
func (c *Config) MariaDBTarget() (MariaDBConn, map[string]string, int, bool) {
	var out MariaDBConn
	var dbMap map[string]string
	workers := 0
	if s := c.Sources.MariaDB; s != nil {
		out = s.MariaDBConn
	}
	if r := c.Restore.MariaDB; r != nil {
		if r.Addr != "" || r.Socket != "" {
			out.Addr, out.Socket = r.Addr, r.Socket
		}
		if r.User != "" {
			out.User = r.User
		}
		if r.Password.IsSet() {
			out.Password = r.Password
		}
		if r.TLS != nil {
			out.TLS = r.TLS
		}
		dbMap, workers = r.DBMap, r.Workers
	}
	ok := out.User != "" && (out.Addr != "" || out.Socket != "")
	return out, dbMap, workers, ok
}
