package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Hooks are commands run around a backup: pre before it (any failure
// aborts the backup), post after it, on success and on failure. Each
// command is an argv list run without a shell.
type Hooks struct {
	// Timeout is the default per command (5m); a command that outlives
	// its timeout is killed with its whole process group.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	Pre     []Hook        `yaml:"pre,omitempty"`
	Post    []Hook        `yaml:"post,omitempty"`
}

// Hook is one command.
type Hook struct {
	Command []string      `yaml:"command"`
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

// DefaultHookTimeout applies when neither the hook nor hooks.timeout sets one.
const DefaultHookTimeout = 5 * time.Minute

// UnmarshalYAML decodes strictly, applies defaults and validates.
func (h *Hooks) UnmarshalYAML(n *yaml.Node) error {
	type plain Hooks
	if err := strictDecode(n, (*plain)(h)); err != nil {
		return err
	}
	var errs []error
	if h.Timeout < 0 {
		errs = append(errs, errors.New("hooks.timeout must not be negative"))
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHookTimeout
	}
	for _, k := range []struct {
		kind string
		list []Hook
	}{{"pre", h.Pre}, {"post", h.Post}} {
		kind, list := k.kind, k.list
		for i := range list {
			hk := &list[i]
			where := fmt.Sprintf("hooks.%s[%d]", kind, i)
			if len(hk.Command) == 0 || strings.TrimSpace(hk.Command[0]) == "" {
				errs = append(errs, fmt.Errorf("%s.command: give the program and its arguments as a list, e.g. [/usr/local/bin/notify, backup]", where))
			}
			if hk.Timeout < 0 {
				errs = append(errs, fmt.Errorf("%s.timeout must not be negative", where))
			}
			if hk.Timeout == 0 {
				hk.Timeout = h.Timeout
			}
		}
	}
	return lineErr(n, errors.Join(errs...))
}

// Metrics says where a backup reports its outcome.
type Metrics struct {
	// Textfile is written (atomically) for node_exporter's textfile
	// collector; it must end in .prom.
	Textfile    string       `yaml:"textfile,omitempty"`
	Pushgateway *Pushgateway `yaml:"pushgateway,omitempty"`
}

// Pushgateway is a Prometheus Pushgateway the metrics are pushed to.
type Pushgateway struct {
	URL string `yaml:"url"`
	// Job is the job label (default zuulstate); the host is the instance label.
	Job          string        `yaml:"job,omitempty"`
	Username     string        `yaml:"username,omitempty"`
	Password     Secret        `yaml:"password,omitempty"`
	PasswordFile string        `yaml:"password_file,omitempty"`
	CAFile       string        `yaml:"ca_file,omitempty"`
	Timeout      time.Duration `yaml:"timeout,omitempty"`
}

// UnmarshalYAML decodes strictly, applies defaults and validates.
func (m *Metrics) UnmarshalYAML(n *yaml.Node) error {
	type plain Metrics
	if err := strictDecode(n, (*plain)(m)); err != nil {
		return err
	}
	var errs []error
	if t := m.Textfile; t != "" && (!filepath.IsAbs(t) || !strings.HasSuffix(t, ".prom")) {
		errs = append(errs, fmt.Errorf("metrics.textfile %q: give an absolute path ending in .prom (node_exporter reads only *.prom files)", t))
	}
	if p := m.Pushgateway; p != nil {
		if p.Job == "" {
			p.Job = "zuulstate"
		}
		if p.Timeout == 0 {
			p.Timeout = 30 * time.Second
		}
		u, err := url.Parse(p.URL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("metrics.pushgateway.url: %w", err))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			errs = append(errs, fmt.Errorf("metrics.pushgateway.url %q: give http(s)://host:port", p.URL))
		case u.User != nil:
			errs = append(errs, errors.New("metrics.pushgateway.url: credentials do not belong in the URL; use username and password_file (or ZUULSTATE_PUSHGATEWAY_PASSWORD)"))
		}
		if p.Timeout < 0 {
			errs = append(errs, errors.New("metrics.pushgateway.timeout must not be negative"))
		}
		if p.CAFile != "" && !filepath.IsAbs(p.CAFile) {
			errs = append(errs, fmt.Errorf("metrics.pushgateway.ca_file %q must be an absolute path", p.CAFile))
		}
	}
	return lineErr(n, errors.Join(errs...))
}

// resolvePushgatewaySecret fills the password from the environment or its
// file and checks that username and password come together.
func (c *Config) resolvePushgatewaySecret(getenv func(string) string) error {
	p := c.Metrics.Pushgateway
	if p == nil {
		return nil
	}
	if err := resolveSecret("metrics.pushgateway.password", &p.Password, p.PasswordFile, "ZUULSTATE_PUSHGATEWAY_PASSWORD", getenv); err != nil {
		return err
	}
	if (p.Username == "") != !p.Password.IsSet() {
		return errors.New("metrics.pushgateway: username and password go together (password, password_file or ZUULSTATE_PUSHGATEWAY_PASSWORD)")
	}
	return nil
}
