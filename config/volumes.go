package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// VolumesSource is sources.volumes: Docker named volumes and bind mounts.
// It validates itself while being decoded (UnmarshalYAML), so Config
// needs no volumes-specific code besides the field.
type VolumesSource struct {
	Docker DockerConn `yaml:"docker,omitempty"`
	// Mode: auto (default; direct when the mountpoint is readable here),
	// direct, or api (through a helper container; loses some attributes).
	Mode string `yaml:"mode,omitempty"`
	// StopTimeout is how long a stopped container gets to exit before it
	// is killed (docker stop -t); default 30s.
	StopTimeout time.Duration   `yaml:"stop_timeout,omitempty"`
	Volumes     []VolumeItem    `yaml:"volumes,omitempty"`
	Containers  []ContainerItem `yaml:"containers,omitempty"`
}

// DockerConn says how to reach the Docker engine. An empty host means
// what the docker CLI does: DOCKER_HOST (with DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH) from the environment, else the local socket.
type DockerConn struct {
	Host string   `yaml:"host,omitempty"`
	TLS  *TLSConf `yaml:"tls,omitempty"`
}

// VolumeItem selects a named volume, or every volume with a label.
type VolumeItem struct {
	Name    string   `yaml:"name,omitempty"`
	Label   string   `yaml:"label,omitempty"` // key or key=value
	Exclude []string `yaml:"exclude,omitempty"`
	// Stop makes the copy cold: the containers using the volume are
	// stopped and started again afterwards. The label zuulstate.stop=true
	// on the volume or on a container does the same.
	Stop bool   `yaml:"stop,omitempty"`
	Mode string `yaml:"mode,omitempty"`
}

// ContainerItem selects every named volume and bind mount of a container.
type ContainerItem struct {
	Name    string   `yaml:"name"`
	Exclude []string `yaml:"exclude,omitempty"`
	Stop    bool     `yaml:"stop,omitempty"`
	Mode    string   `yaml:"mode,omitempty"`
}

// VolumesRestore is restore.volumes.
type VolumesRestore struct {
	// Docker is the target engine; unset: the source's engine.
	Docker *DockerConn `yaml:"docker,omitempty"`
	Mode   string      `yaml:"mode,omitempty"`
	// VolumeMap restores volume SRC as DST (--volume-map SRC=DST).
	VolumeMap map[string]string `yaml:"volume_map,omitempty"`
	// BindMap restores bind paths under SRC below DST (--bind-map).
	BindMap      map[string]string `yaml:"bind_map,omitempty"`
	AllowDevices bool              `yaml:"allow_devices,omitempty"`
	// HelperBinary is a statically linked zuulstate for the engine-API
	// way; default: the running program, which must then be static.
	HelperBinary string `yaml:"helper_binary,omitempty"`
}

// VolumeNamePattern is what Docker accepts as a volume name.
var VolumeNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`)

// UnmarshalYAML decodes strictly, applies defaults and validates.
func (s *VolumesSource) UnmarshalYAML(n *yaml.Node) error {
	type plain VolumesSource
	if err := strictDecode(n, (*plain)(s)); err != nil {
		return err
	}
	if s.StopTimeout == 0 {
		s.StopTimeout = 30 * time.Second
	}
	if s.Mode == "" {
		s.Mode = "auto"
	}
	return lineErr(n, errors.Join(s.validate()...))
}

func (s *VolumesSource) validate() []error {
	const where = "sources.volumes"
	errs := append(s.Docker.validate(where+".docker"), checkMode(where, s.Mode)...)
	if len(s.Volumes) == 0 && len(s.Containers) == 0 {
		errs = append(errs, fmt.Errorf("%s: select volumes (by name or label) or containers", where))
	}
	if s.StopTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.stop_timeout must not be negative", where))
	}
	for i, v := range s.Volumes {
		w := fmt.Sprintf("%s.volumes[%d]", where, i)
		switch {
		case (v.Name == "") == (v.Label == ""):
			errs = append(errs, fmt.Errorf("%s: set exactly one of name or label", w))
		case v.Name != "" && !VolumeNamePattern.MatchString(v.Name):
			errs = append(errs, fmt.Errorf("%s: %q is not a Docker volume name", w, v.Name))
		}
		errs = append(errs, checkItem(w, v.Exclude, v.Mode)...)
	}
	for i, c := range s.Containers {
		w := fmt.Sprintf("%s.containers[%d]", where, i)
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", w))
		}
		errs = append(errs, checkItem(w, c.Exclude, c.Mode)...)
	}
	return errs
}

// UnmarshalYAML decodes strictly and validates.
func (r *VolumesRestore) UnmarshalYAML(n *yaml.Node) error {
	type plain VolumesRestore
	if err := strictDecode(n, (*plain)(r)); err != nil {
		return err
	}
	const where = "restore.volumes"
	errs := checkMode(where, r.Mode)
	if r.Docker != nil {
		errs = append(errs, r.Docker.validate(where+".docker")...)
	}
	for from, to := range r.VolumeMap {
		if !VolumeNamePattern.MatchString(from) || !VolumeNamePattern.MatchString(to) {
			errs = append(errs, fmt.Errorf("%s.volume_map: %q: %q are not both Docker volume names", where, from, to))
		}
	}
	for from, to := range r.BindMap {
		if !filepath.IsAbs(from) || !filepath.IsAbs(to) {
			errs = append(errs, fmt.Errorf("%s.bind_map: %q: %q must both be absolute paths", where, from, to))
		}
	}
	if r.HelperBinary != "" && !filepath.IsAbs(r.HelperBinary) {
		errs = append(errs, fmt.Errorf("%s.helper_binary %q must be an absolute path", where, r.HelperBinary))
	}
	return lineErr(n, errors.Join(errs...))
}

func (d *DockerConn) validate(where string) []error {
	var errs []error
	if d.Host != "" {
		u, err := url.Parse(d.Host)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.host %q: %w", where, d.Host, err))
		case u.Scheme != "unix" && u.Scheme != "tcp":
			errs = append(errs, fmt.Errorf("%s.host %q: use unix:///path/docker.sock or tcp://host:port (with tls for a remote engine)", where, d.Host))
		}
	}
	if t := d.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.tls: cert_file and key_file go together", where))
	}
	return errs
}

func checkMode(where, mode string) []error {
	switch mode {
	case "", "auto", "direct", "api":
		return nil
	}
	return []error{fmt.Errorf("%s.mode %q: use auto, direct or api", where, mode)}
}

func checkItem(where string, exclude []string, mode string) []error {
	errs := checkMode(where, mode)
	for _, g := range exclude {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: exclude pattern %q: %w", where, g, err))
		}
	}
	return errs
}

// strictDecode decodes n into v rejecting unknown keys. yaml.v3 does not
// pass KnownFields on to custom unmarshalers, so the node is decoded again
// by a strict decoder of its own.
func strictDecode(n *yaml.Node, v any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w (line numbers inside this block are relative)", n.Line, explainTypeErrors(err))
	}
	return nil
}

func lineErr(n *yaml.Node, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("line %d: %w", n.Line, err)
}

// VolumesEngine returns the engine restores of volumes parts go to:
// restore.volumes.docker, else the source's, else the environment's.
func (c *Config) VolumesEngine() DockerConn {
	if r := c.Restore.Volumes; r != nil && r.Docker != nil {
		return *r.Docker
	}
	if s := c.Sources.Volumes; s != nil {
		return s.Docker
	}
	return DockerConn{}
}
