package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestZooKeeperConfig(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "zk-pw")
	if err := os.WriteFile(pwFile, []byte("file-secret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y := "repository:\n  local: {path: /x}\nsources:\n  zookeeper:\n    servers: ['zk1:2281', '[::1]:2281']\n" +
		"    tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem}\n" +
		"    auth: {user: zuulstate, password_file: " + pwFile + "}\n" +
		"    profile: all\n    exclude: [/zuul]\n    container_paths: [/nodepool/requests]\n" +
		"    ttl_paths: {/nodepool/lock: 90s}\n    replace_masked_acls: ['world:anyone:r']\n" +
		"restore:\n  zookeeper:\n    servers: ['127.0.0.1:12182']\n    profile: dev\n    path_map: {/keystorage: /keystorage}\n" +
		"    replace_acls: ['world:anyone:cdrwa']\n    max_request_bytes: 1MiB\n"
	c, err := Parse("t", []byte(y), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	z := c.Sources.ZooKeeper
	if z.Auth.Password.Reveal() != "file-secret-pw" || z.TTLPaths["/nodepool/lock"] != 90*time.Second || z.Profile != "all" {
		t.Fatalf("source: %+v", z)
	}
	conn, r, ok := c.ZooKeeperTarget()
	if !ok || conn.Servers[0] != "127.0.0.1:12182" || conn.TLS == nil || conn.Auth.User != "zuulstate" || r.Profile != "dev" || r.MaxRequestBytes != 1<<20 {
		t.Fatalf("target: %+v %+v", conn, r)
	}
	out, _ := c.Redacted()
	if strings.Contains(string(out), "file-secret-pw") {
		t.Fatalf("password in redacted output:\n%s", out)
	}

	// The environment wins over the file.
	c, err = Parse("t", []byte(y), env(map[string]string{"ZUULSTATE_ZOOKEEPER_PASSWORD": "env-pw"}))
	if err != nil || c.Sources.ZooKeeper.Auth.Password.Reveal() != "env-pw" {
		t.Fatalf("env override: %v", err)
	}
}

func TestZooKeeperInvalid(t *testing.T) {
	base := "repository:\n  local: {path: /x}\n"
	for name, bad := range map[string]string{
		"no servers":   "sources:\n  zookeeper: {profile: zuul}\n",
		"bad server":   "sources:\n  zookeeper: {servers: [zk1]}\n",
		"bad profile":  "sources:\n  zookeeper: {servers: ['a:1'], profile: everything}\n",
		"rel path":     "sources:\n  zookeeper: {servers: ['a:1'], include: [keystorage]}\n",
		"bad acl":      "sources:\n  zookeeper: {servers: ['a:1'], replace_masked_acls: ['world:anyone:rx']}\n",
		"cert no key":  "sources:\n  zookeeper: {servers: ['a:1'], tls: {cert_file: /c}}\n",
		"auth no pw":   "sources:\n  zookeeper: {servers: ['a:1'], auth: {user: u}}\n",
		"ttl zero":     "sources:\n  zookeeper: {servers: ['a:1'], ttl_paths: {/a: 0s}}\n",
		"short sess":   "sources:\n  zookeeper: {servers: ['a:1'], session_timeout: 1s}\n",
		"chroot":       "sources:\n  zookeeper: {servers: ['a:1'], chroot: zuul}\n",
		"restore prof": "restore:\n  zookeeper: {profile: prod}\n",
		"small limit":  "restore:\n  zookeeper: {max_request_bytes: 1KiB}\n",
		"bad map":      "restore:\n  zookeeper: {path_map: {/a: b}}\n",
		"unknown key":  "sources:\n  zookeeper: {servers: ['a:1'], colour: red}\n",
	} {
		if _, err := Parse("t", []byte(base+bad), env(nil)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
