package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZooKeeperConn says how to reach a ZooKeeper ensemble.
type ZooKeeperConn struct {
	Servers        []string       `yaml:"servers,omitempty"` // host:port, the TLS port for TLS
	Chroot         string         `yaml:"chroot,omitempty"`
	SessionTimeout time.Duration  `yaml:"session_timeout,omitempty"`
	ConnectTimeout time.Duration  `yaml:"connect_timeout,omitempty"`
	RequestTimeout time.Duration  `yaml:"request_timeout,omitempty"`
	TLS            *TLSConf       `yaml:"tls,omitempty"`
	Auth           *ZooKeeperAuth `yaml:"auth,omitempty"`
	Sessions       int            `yaml:"sessions,omitempty"`
}

// ZooKeeperAuth is digest authentication: the identity digest ACLs name.
type ZooKeeperAuth struct {
	User         string `yaml:"user"`
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

// ZooKeeperSource is the zookeeper backup source.
type ZooKeeperSource struct {
	ZooKeeperConn  `yaml:",inline"`
	Profile        string                   `yaml:"profile,omitempty"` // zuul (default) | all
	Include        []string                 `yaml:"include,omitempty"`
	Exclude        []string                 `yaml:"exclude,omitempty"`
	ContainerPaths []string                 `yaml:"container_paths,omitempty"`
	TTLPaths       map[string]time.Duration `yaml:"ttl_paths,omitempty"`
	Concurrency    int                      `yaml:"concurrency,omitempty"`
	// ReplaceMaskedACLs ("scheme:id:perms") replace digest entries the
	// server masks instead of failing the backup.
	ReplaceMaskedACLs []string `yaml:"replace_masked_acls,omitempty"`
}

// ZooKeeperRestore is where zookeeper parts are restored; connection
// fields left out come from the source, so a same-instance restore needs
// nothing.
type ZooKeeperRestore struct {
	ZooKeeperConn   `yaml:",inline"`
	Profile         string            `yaml:"profile,omitempty"` // dr (default) | dev
	Include         []string          `yaml:"include,omitempty"`
	Exclude         []string          `yaml:"exclude,omitempty"`
	PathMap         map[string]string `yaml:"path_map,omitempty"`
	ReplaceACLs     []string          `yaml:"replace_acls,omitempty"`
	MaxRequestBytes Size              `yaml:"max_request_bytes,omitempty"`
	BatchOps        int               `yaml:"batch_ops,omitempty"`
	BatchBytes      Size              `yaml:"batch_bytes,omitempty"`
	InFlight        int               `yaml:"in_flight,omitempty"`
}

func (s *ZooKeeperSource) resolveSecrets(where string, getenv func(string) string) error {
	if s == nil || s.Auth == nil {
		return nil
	}
	return resolveSecret(where+".auth.password", &s.Auth.Password, s.Auth.PasswordFile, "ZUULSTATE_ZOOKEEPER_PASSWORD", getenv)
}

func (r *ZooKeeperRestore) resolveSecrets(where string, getenv func(string) string) error {
	if r == nil || r.Auth == nil {
		return nil
	}
	return resolveSecret(where+".auth.password", &r.Auth.Password, r.Auth.PasswordFile, "ZUULSTATE_ZOOKEEPER_RESTORE_PASSWORD", getenv)
}

func (c *ZooKeeperConn) validate(where string, needServers bool) []error {
	var errs []error
	if needServers && len(c.Servers) == 0 {
		errs = append(errs, fmt.Errorf("%s.servers: list at least one host:port", where))
	}
	for _, s := range c.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("%s.servers: %q is not host:port", where, s))
		}
	}
	if c.Chroot != "" && (c.Chroot == "/" || checkZooKeeperPath(c.Chroot) != nil) {
		errs = append(errs, fmt.Errorf("%s.chroot %q: give an absolute path like /zuul", where, c.Chroot))
	}
	if c.SessionTimeout != 0 && (c.SessionTimeout < 2*time.Second || c.SessionTimeout > 10*time.Minute) {
		errs = append(errs, fmt.Errorf("%s.session_timeout %s: use 2s to 10m", where, c.SessionTimeout))
	}
	if c.RequestTimeout < 0 || c.ConnectTimeout < 0 || c.Sessions < 0 || c.Sessions > 16 {
		errs = append(errs, fmt.Errorf("%s: connect_timeout and request_timeout must not be negative, sessions must be 0 to 16", where))
	}
	if t := c.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.tls: cert_file and key_file go together", where))
	}
	if a := c.Auth; a != nil && (a.User == "" || !a.Password.IsSet()) {
		errs = append(errs, fmt.Errorf("%s.auth: set user and password (or password_file, or the environment variable)", where))
	}
	return errs
}

func (s *ZooKeeperSource) validate(where string) []error {
	if s == nil {
		return nil
	}
	errs := s.ZooKeeperConn.validate(where, true)
	if !slices.Contains([]string{"", "zuul", "all"}, s.Profile) {
		errs = append(errs, fmt.Errorf("%s.profile %q: use zuul or all", where, s.Profile))
	}
	for _, list := range [][]string{s.Include, s.Exclude, s.ContainerPaths} {
		errs = append(errs, checkZooKeeperPaths(where, list)...)
	}
	for p, ttl := range s.TTLPaths {
		errs = append(errs, checkZooKeeperPaths(where+".ttl_paths", []string{p})...)
		if ttl <= 0 {
			errs = append(errs, fmt.Errorf("%s.ttl_paths: %s needs a positive TTL", where, p))
		}
	}
	if s.Concurrency < 0 || s.Concurrency > 4096 {
		errs = append(errs, fmt.Errorf("%s.concurrency %d: use 1 to 4096", where, s.Concurrency))
	}
	if _, err := ParseACLs(s.ReplaceMaskedACLs); err != nil {
		errs = append(errs, fmt.Errorf("%s.replace_masked_acls: %w", where, err))
	}
	return errs
}

// validate checks r, naming it where in messages (restore.zookeeper or
// targets.NAME.zookeeper).
func (r *ZooKeeperRestore) validate(where string) []error {
	if r == nil {
		return nil
	}
	errs := r.ZooKeeperConn.validate(where, false)
	if !slices.Contains([]string{"", "dr", "dev"}, r.Profile) {
		errs = append(errs, fmt.Errorf("%s.profile %q: use dr or dev", where, r.Profile))
	}
	errs = append(errs, checkZooKeeperPaths(where, r.Include)...)
	errs = append(errs, checkZooKeeperPaths(where, r.Exclude)...)
	for from, to := range r.PathMap {
		errs = append(errs, checkZooKeeperPaths(where+".path_map", []string{from, to})...)
	}
	if _, err := ParseACLs(r.ReplaceACLs); err != nil {
		errs = append(errs, fmt.Errorf("%s.replace_acls: %w", where, err))
	}
	if r.MaxRequestBytes != 0 && r.MaxRequestBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("%s.max_request_bytes %d: at least 64KiB", where, r.MaxRequestBytes))
	}
	if r.BatchOps < 0 || r.InFlight < 0 {
		errs = append(errs, fmt.Errorf("%s: batch_ops and in_flight must not be negative", where))
	}
	return errs
}

func checkZooKeeperPath(p string) error {
	if p == "" || p[0] != '/' || (len(p) > 1 && p[len(p)-1] == '/') {
		return fmt.Errorf("%q is not an absolute ZooKeeper path", p)
	}
	return nil
}

func checkZooKeeperPaths(where string, paths []string) []error {
	var errs []error
	for _, p := range paths {
		if err := checkZooKeeperPath(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return errs
}

// ParseACLs reads ACL entries written as scheme:id:perms.
func ParseACLs(list []string) ([]zk.ACL, error) {
	var out []zk.ACL
	for _, s := range list {
		a, err := ParseACL(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseACL reads one ACL entry written as zkCli writes it,
// "scheme:id:perms" with perms from "cdrwa" (the id may contain colons, as
// digest ids do: "digest:user:hash:cdrwa"). zkconn.FormatACL writes it.
func ParseACL(s string) (zk.ACL, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || scheme == "" || i < 0 {
		return zk.ACL{}, fmt.Errorf("ACL %q: write it as scheme:id:perms, for example world:anyone:cdrwa", s)
	}
	id, letters := rest[:i], rest[i+1:]
	var perms int32
	for _, l := range letters {
		switch l {
		case 'c':
			perms |= zk.PermCreate
		case 'd':
			perms |= zk.PermDelete
		case 'r':
			perms |= zk.PermRead
		case 'w':
			perms |= zk.PermWrite
		case 'a':
			perms |= zk.PermAdmin
		default:
			return zk.ACL{}, fmt.Errorf("ACL %q: permission %q is not one of c, d, r, w, a", s, l)
		}
	}
	if perms == 0 {
		return zk.ACL{}, fmt.Errorf("ACL %q grants nothing", s)
	}
	return zk.ACL{Perms: perms, Scheme: scheme, ID: id}, nil
}

// ZooKeeperTarget returns where zookeeper restores go: each connection
// field of restore.zookeeper that is set overrides the source's (as for
// mariadb), and whether any servers are known.
func (c *Config) ZooKeeperTarget() (ZooKeeperConn, ZooKeeperRestore, bool) {
	var conn ZooKeeperConn
	var r ZooKeeperRestore
	if s := c.Sources.ZooKeeper; s != nil {
		conn = s.ZooKeeperConn
	}
	if c.Restore.ZooKeeper != nil {
		r = *c.Restore.ZooKeeper
		t := r.ZooKeeperConn
		if len(t.Servers) > 0 {
			conn.Servers = t.Servers
		}
		if t.TLS != nil {
			conn.TLS = t.TLS
		}
		if t.Chroot != "" {
			conn.Chroot = t.Chroot
		}
		if t.Auth != nil {
			conn.Auth = t.Auth
		}
		if t.SessionTimeout != 0 {
			conn.SessionTimeout = t.SessionTimeout
		}
		if t.ConnectTimeout != 0 {
			conn.ConnectTimeout = t.ConnectTimeout
		}
		if t.RequestTimeout != 0 {
			conn.RequestTimeout = t.RequestTimeout
		}
		if t.Sessions != 0 {
			conn.Sessions = t.Sessions
		}
	}
	return conn, r, len(conn.Servers) > 0
}
