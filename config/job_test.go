package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHooksAndMetricsConfig(t *testing.T) {
	c, err := Parse("t", []byte(volRepo+`hooks:
  timeout: 2m
  pre:
    - command: [/usr/local/bin/zuul-maint, "on"]
      timeout: 30s
  post:
    - command: [/usr/local/bin/notify]
metrics:
  textfile: /var/lib/node_exporter/textfile/zuulstate.prom
  pushgateway:
    url: https://push.example.com:9091
    username: zuulstate
`), env(map[string]string{"ZUULSTATE_PUSHGATEWAY_PASSWORD": "pg-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	h := c.Hooks
	if h.Pre[0].Timeout != 30*time.Second || h.Post[0].Timeout != 2*time.Minute || h.Pre[0].Command[1] != "on" {
		t.Errorf("hooks: %+v", h)
	}
	p := c.Metrics.Pushgateway
	if p.Job != "zuulstate" || p.Timeout != 30*time.Second || p.Password.Reveal() != "pg-secret" {
		t.Errorf("pushgateway: %+v", p)
	}
	out, err := c.Redacted()
	if err != nil || strings.Contains(string(out), "pg-secret") {
		t.Fatalf("redacted config leaks the password or failed: %v\n%s", err, out)
	}

	c, err = Parse("t", []byte(volRepo+"hooks:\n  post:\n    - command: [/bin/true]\n"), env(nil))
	if err != nil || c.Hooks.Post[0].Timeout != DefaultHookTimeout {
		t.Fatalf("default timeout: %v %+v", err, c)
	}
}

func TestPushgatewayPasswordFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("t", []byte(volRepo+"metrics:\n  pushgateway:\n    url: http://127.0.0.1:9091\n    username: u\n    password_file: "+f+"\n"), env(nil))
	if err != nil || c.Metrics.Pushgateway.Password.Reveal() != "from-file" {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestHooksAndMetricsConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"hooks:\n  pre:\n    - command: []\n", "hooks.pre[0].command"},
		{"hooks:\n  pre:\n    - [/bin/true]\n", "line 2: a list where a mapping (key: value lines) belongs"},
		{"hooks:\n  post:\n    - command: [/bin/true]\n      timeout: -1s\n", "hooks.post[0].timeout"},
		{"hooks:\n  pre:\n    - command: [/bin/true]\n      tmeout: 1s\n", "tmeout"},
		{"metrics:\n  textfile: zuulstate.prom\n", "absolute path ending in .prom"},
		{"metrics:\n  textfile: /var/lib/x.txt\n", "absolute path ending in .prom"},
		{"metrics:\n  pushgateway:\n    url: push:9091\n", "http(s)://host:port"},
		{"metrics:\n  pushgateway:\n    url: http://u:pw@push:9091\n", "credentials do not belong in the URL"},
		{"metrics:\n  pushgateway:\n    url: http://push:9091\n    username: u\n", "username and password go together"},
		{"metrics:\n  pushgateway:\n    url: http://push:9091\n    password: p\n", "username and password go together"},
	} {
		_, err := Parse("t", []byte(volRepo+tc.yaml), env(nil))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error repeats credentials: %v", err)
		}
	}
}
