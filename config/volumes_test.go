package config

import (
	"strings"
	"testing"
	"time"
)

const volRepo = "repository:\n  local:\n    path: /srv/backup\n"

func TestVolumesConfig(t *testing.T) {
	c, err := Parse("t", []byte(volRepo+`sources:
  volumes:
    docker: {host: "tcp://10.0.0.1:2376", tls: {ca_file: /ca.pem}}
    volumes:
      - name: log_server
        exclude: ["*.tmp"]
        stop: true
      - label: backup=zuul
    containers:
      - name: zuul_scheduler
        mode: api
restore:
  volumes:
    volume_map: {log_server: dev_log_server}
    bind_map: {/opt/zuul: /srv/dev}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Sources.Volumes
	if v.Mode != "auto" || v.StopTimeout != 30*time.Second || !v.Volumes[0].Stop || v.Containers[0].Mode != "api" {
		t.Errorf("defaults or values wrong: %+v", v)
	}
	if got := c.VolumesEngine(); got.Host != "tcp://10.0.0.1:2376" {
		t.Errorf("restore engine = %+v, want the source's", got)
	}
	if c.Restore.Volumes.VolumeMap["log_server"] != "dev_log_server" {
		t.Errorf("volume_map = %v", c.Restore.Volumes.VolumeMap)
	}
	// No host anywhere: the docker CLI's environment rules apply.
	c2, err := Parse("t", []byte(volRepo+"sources:\n  volumes:\n    volumes: [{name: logs}]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c2.VolumesEngine().Host != "" {
		t.Errorf("host = %q, want empty (DOCKER_HOST)", c2.VolumesEngine().Host)
	}
}

func TestVolumesConfigErrors(t *testing.T) {
	cases := map[string]string{
		"sources:\n  volumes: {mode: fast, volumes: [{name: a1}]}\n":                    "use auto, direct or api",
		"sources:\n  volumes: {volumes: [{name: a1, label: x}]}\n":                      "exactly one of name or label",
		"sources:\n  volumes: {volumes: [{name: '../x'}]}\n":                            "not a Docker volume name",
		"sources:\n  volumes: {volumes: [{name: a1, exclude: ['[']}]}\n":                "exclude pattern",
		"sources:\n  volumes: {}\n":                                                     "select volumes",
		"sources:\n  volumes: {containers: [{}]}\n":                                     "name is required",
		"sources:\n  volumes: {docker: {host: 'ssh://h'}, volumes: [{name: a1}]}\n":     "unix:///path/docker.sock or tcp://host:port",
		"sources:\n  volumes: {volumes: [{name: a1, colour: red}]}\n":                   "field colour not found",
		"sources:\n  volumes: {docker: {tls: {cert_file: c}}, volumes: [{name: a1}]}\n": "cert_file and key_file go together",
		"sources: {}\nrestore:\n  volumes: {volume_map: {a1: 'b/c'}}\n":                 "not both Docker volume names",
		"sources: {}\nrestore:\n  volumes: {bind_map: {/a: rel}}\n":                     "must both be absolute",
		"sources: {}\nrestore:\n  volumes: {helper_binary: zuulstate}\n":                "must be an absolute path",
	}
	for body, want := range cases {
		_, err := Parse("t", []byte(volRepo+body), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}
