package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestExampleParses(t *testing.T) {
	c, err := Load("../examples/zuulstate.yaml", env(map[string]string{
		"ZUULSTATE_S3_ACCESS_KEY": "AKIAEXAMPLE", "ZUULSTATE_S3_SECRET_KEY": "s3cr3t-value", "ZUULSTATE_MARIADB_PASSWORD": "db-pass-value",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Repository.S3.AccessKey.Reveal() != "AKIAEXAMPLE" || len(c.Sources.Paths) != 3 {
		t.Fatalf("unexpected config: %+v", c)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t-value") || strings.Contains(string(out), "db-pass-value") || strings.Contains(string(out), "AKIAEXAMPLE") {
		t.Fatalf("secret leaked into redacted output:\n%s", out)
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(keyFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "repository:\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: b\n    access_key: inline-ak\n"
	c, err := Parse("t", []byte(base+"    secret_key_file: "+keyFile+"\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Repository.S3.SecretKey.Reveal(); got != "from-file" {
		t.Fatalf("secret from file: %q", got)
	}
	c, err = Parse("t", []byte(base+"    secret_key_file: "+keyFile+"\n"), env(map[string]string{"ZUULSTATE_S3_SECRET_KEY": "from-env"}))
	if err != nil || c.Repository.S3.SecretKey.Reveal() != "from-env" {
		t.Fatalf("env should win: %v", err)
	}
	if _, err := Parse("t", []byte(base+"    secret_key: x\n    secret_key_file: "+keyFile+"\n"), env(nil)); err == nil {
		t.Fatal("inline and file both set: want error")
	}
	_, err = Parse("t", []byte(base+"    secret_key_file: /nonexistent/key\n"), env(nil))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Fatalf("missing secret file: %v", err)
	}
}

func TestInvalidConfigs(t *testing.T) {
	cases := map[string]string{
		"not yaml":      "repository: [",
		"unknown key":   "repository:\n  local:\n    path: /x\n  colour: red\n",
		"no repository": "sources: {}\n",
		"both":          "repository:\n  local: {path: /x}\n  s3: {endpoint: a:1, bucket: b, access_key: k, secret_key: s}\n",
		"relative":      "repository:\n  local: {path: x}\n",
		"scheme":        "repository:\n  s3: {endpoint: 'https://a:1', bucket: b, access_key: k, secret_key: s}\n",
		"no creds":      "repository:\n  s3: {endpoint: 'a:1', bucket: b}\n",
		"small part":    "repository:\n  s3: {endpoint: 'a:1', bucket: b, access_key: k, secret_key: s, part_size: 1MiB}\n",
		"bad size":      "repository:\n  s3: {endpoint: 'a:1', bucket: b, access_key: k, secret_key: s, part_size: lots}\n",
		"bad name":      "repository:\n  local: {path: /x}\nsources:\n  paths:\n    - {name: '../etc', path: /etc}\n",
		"dup name":      "repository:\n  local: {path: /x}\nsources:\n  paths:\n    - {name: a, path: /etc}\n    - {name: a, path: /var}\n",
		"recipient":     "repository:\n  local: {path: /x}\n  encryption: {recipients: [age1nope]}\n",
	}
	for name, y := range cases {
		_, err := Parse("t", []byte(y), env(nil))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("hunter2")
	for _, out := range []string{s.String(), s.GoString()} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
}

func TestMariaDBConfig(t *testing.T) {
	y := "repository:\n  local: {path: /x}\nsources:\n  mariadb:\n    addr: 127.0.0.1:3306\n    user: zuul\n" +
		"restore:\n  mariadb:\n    addr: 127.0.0.1:3307\n    db_map: {zuul: zuul_dev}\n"
	c, err := Parse("t", []byte(y), env(map[string]string{"ZUULSTATE_MARIADB_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources.MariaDB.Databases; len(got) != 1 || got[0] != "zuul" {
		t.Fatalf("default databases: %v", got)
	}
	conn, dbMap, _, ok := c.MariaDBTarget()
	if !ok || conn.Addr != "127.0.0.1:3307" || conn.User != "zuul" || conn.Password.Reveal() != "pw" || dbMap["zuul"] != "zuul_dev" {
		t.Fatalf("restore target: %+v %v %v", conn, dbMap, ok)
	}
	out, _ := c.Redacted()
	if strings.Contains(string(out), "pw\n") {
		t.Fatalf("password in redacted output:\n%s", out)
	}
	for name, bad := range map[string]string{
		"no addr":  "repository:\n  local: {path: /x}\nsources:\n  mariadb: {user: u}\n",
		"both":     "repository:\n  local: {path: /x}\nsources:\n  mariadb: {user: u, addr: 'a:1', socket: /s}\n",
		"all+name": "repository:\n  local: {path: /x}\nsources:\n  mariadb: {user: u, addr: 'a:1', databases: [all, zuul]}\n",
	} {
		if _, err := Parse("t", []byte(bad), env(nil)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
