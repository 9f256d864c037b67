package config

import (
	"errors"
	"strings"
	"testing"
)

const targetsBase = `repository:
  local: {path: /var/backups/zuulstate}
sources:
  mariadb: {addr: "10.0.0.1:3306", user: backup, password: src-pass}
  zookeeper: {servers: ["zk:2281"], tls: {ca_file: /ca.pem}}
`

func TestTargets(t *testing.T) {
	c, err := Parse("t", []byte(targetsBase+`targets:
  dev:
    profile: dev
    paths: {dir: /srv/dev/paths}
    mariadb: {addr: "127.0.0.1:13307", db_map: {zuul: zuul_dev}}
    zookeeper: {servers: ["127.0.0.1:12282"]}
    volumes: {volume_map: {log_server: dev_log_server}, bind_map: {/opt/zuul: /srv/dev/zuul}}
  same:
    paths: {original: true}
`), env(map[string]string{"ZUULSTATE_MARIADB_RESTORE_PASSWORD": "restore-pass"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.TargetNames(), ","); got != "dev,same" {
		t.Fatalf("names %s", got)
	}
	dev, tgt, err := c.ForTarget("dev")
	if err != nil {
		t.Fatal(err)
	}
	conn, dbMap, _, ok := dev.MariaDBTarget()
	if !ok || conn.Addr != "127.0.0.1:13307" || conn.User != "backup" || conn.Password.Reveal() != "restore-pass" || dbMap["zuul"] != "zuul_dev" {
		t.Errorf("mariadb target %+v %v (user falls back to the source's, password from the restore variable)", conn, dbMap)
	}
	zc, zr, ok := dev.ZooKeeperTarget()
	if !ok || zc.Servers[0] != "127.0.0.1:12282" || zc.TLS == nil || zr.Profile != ProfileDev {
		t.Errorf("zookeeper target %+v, profile %q (TLS from the source, profile from the target)", zc, zr.Profile)
	}
	if tgt.Paths.Dir != "/srv/dev/paths" || dev.Restore.Volumes.VolumeMap["log_server"] != "dev_log_server" {
		t.Errorf("target %+v", tgt)
	}
	if c.Restore.ZooKeeper != nil || c.Targets["dev"].ZooKeeper.Profile != "" {
		t.Error("ForTarget changed the configuration it was given")
	}
	same, tgt, err := c.ForTarget("same")
	if err != nil || tgt.ProfileName() != ProfileDR || same.Restore.ZooKeeper != nil {
		t.Errorf("same: %v %v", tgt, err)
	}
	if conn, _, _, _ := same.MariaDBTarget(); conn.Addr != "10.0.0.1:3306" || conn.Password.Reveal() != "src-pass" {
		t.Errorf("a target without mariadb restores to the source: %+v", conn)
	}
	_, _, err = c.ForTarget("prod")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"prod"`) || !strings.Contains(err.Error(), "dev, same") {
		t.Errorf("unknown target: %v", err)
	}
	out, _ := c.Redacted()
	if strings.Contains(string(out), "restore-pass") || strings.Contains(string(out), "src-pass") {
		t.Errorf("secret in the rendered config:\n%s", out)
	}
}

func TestTargetValidation(t *testing.T) {
	_, err := Parse("t", []byte(targetsBase+`targets:
  dev:
    profile: staging
    paths: {dir: relative, original: true}
    mariadb: {tls: {cert_file: /c.pem}}
    zookeeper: {profile: prod, include: [keystorage]}
  bad/name:
    paths: {dir: relative}
`), env(nil))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`targets.dev.profile "staging"`, "targets.dev.paths: set dir or original, not both",
		"targets.dev.mariadb.tls: cert_file and key_file go together", `targets.dev.zookeeper.profile "prod"`,
		`targets.dev.zookeeper: "keystorage" is not an absolute`, `targets.bad/name: target name "bad/name" is invalid`,
		`targets.bad/name.paths.dir "relative" must be an absolute path`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
