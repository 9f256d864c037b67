package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
)

// TestDrill runs the drill against the real services with every source,
// an S3 repository and age encryption: refused while its scratch names
// exist (exit 7, nothing touched), then a drill that restores every part
// into scratch places, verifies them and removes them, with the target's
// own names (prod's names) untouched; its record, metrics and check.
func TestDrill(t *testing.T) {
	repoYAML, s3env := s3YAML(t)
	f := newDrillFixture(t, repoYAML)
	key := filepath.Join(f.dir, "age.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	c := strings.Replace(readFile(t, f.config), "repository:\n", "repository:\n  encryption:\n    recipients: ["+strings.TrimSpace(r.stdout)+"]\n    identity_file: "+key+"\n", 1)
	if err := os.WriteFile(f.config, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env = append(f.env, s3env...)
	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 2, "no restore drill recorded")
	id, prefix := f.backup(t)
	sc := f.scratch(t, prefix)
	untouched := f.prodOnTarget(t)

	// Names that look like this drill's but are not its leftovers: refused
	// with the names, exit 7, nothing created or removed.
	q := mariadbtest.QuoteIdent(sc.database)
	mariadbtest.Exec(t, f.dev, "CREATE DATABASE "+q)
	mariadbtest.Exec(t, f.dev, "CREATE TABLE "+q+".mine (i INT)")
	_, _ = voltest.Volume(t, f.eng, volumeNamed(sc.volume))
	r = f.run(t, "drill", "--target", "drill")
	r.expectFail(t, exitTargetFull, "database "+sc.database, "volume "+sc.volume, "nothing was touched")
	if got := strings.Join(f.present(t, sc), ","); got != "database,volume" {
		t.Errorf("after a refused drill: %s present, want database,volume", got)
	}
	untouched()
	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 2, "no restore drill has succeeded", "exist already")
	mariadbtest.Exec(t, f.dev, "DROP DATABASE "+q)
	voltest.RemoveVolume(t, f.eng, sc.volume)

	r = f.run(t, "drill", "--target", "drill")
	r.expectOK(t)
	t.Logf("drill:\n%s\n%s", r.stdout, r.stderr)
	inOrder(t, r.stdout, "Drill: restore snapshot "+id, "target drill",
		"1. volumes", "use empty bind "+filepath.Join(sc.dir, "binds", f.bind), "create volume "+sc.volume, "2. paths → directory "+filepath.Join(sc.dir, "paths"),
		"3. mariadb", "create database "+sc.database, "4. zookeeper", "chroot "+sc.znode,
		"Verification", "volumes", "files in bind "+filepath.Join(sc.dir, "binds", f.bind), "files in volume "+sc.volume,
		"paths", "conf", "files", "mariadb", "rows "+sc.database+".zuul_build", "25", "25", "OK",
		"zookeeper", "znodes /keystorage", "znodes /nodepool", "znodes /zuul-system",
		"zookeeper/keys: not loaded by a restore; decoded and checked", "Drill passed")
	if strings.Contains(r.stdout, "MISMATCH") {
		t.Errorf("mismatch:\n%s", r.stdout)
	}
	if got := f.present(t, sc); len(got) > 0 {
		t.Errorf("scratch places left after the drill: %v", got)
	}
	untouched()

	f.run(t, "check", "--max-drill-age", "8d").expectNagios(t, 0, "last successful restore drill (snapshot "+id+")", "drill_age=")
	prom := readFile(t, strings.TrimSuffix(f.textfile, ".prom")+"_drill.prom")
	for _, want := range []string{"zuulstate_drill_last_success 1", "zuulstate_drill_last_success_timestamp_seconds ", "zuulstate_drill_mismatches 0", "zuulstate_drill_duration_seconds "} {
		if !strings.Contains(prom, want) {
			t.Errorf("drill metrics lack %q:\n%s", want, prom)
		}
	}
	if backup := readFile(t, f.textfile); !strings.Contains(backup, "zuulstate_backup_last_success 1") || strings.Contains(backup, "drill") {
		t.Errorf("the backup's metrics were replaced:\n%s", backup)
	}
	if pushes := f.pushes.all(); !strings.Contains(pushes, "PUT /metrics/job/zuulstate/instance/") || !strings.Contains(pushes, "/operation/drill") {
		t.Errorf("pushes:\n%s", pushes)
	}
}

// TestDrillBothFormats: the drill restores through the restore path, so
// it passes on a format 3 (default) and a format 2 repository alike; bad
// input is a usage error that writes nothing.
func TestDrillBothFormats(t *testing.T) {
	for _, format := range []string{"3", "2"} {
		t.Run("format"+format, func(t *testing.T) {
			f := newFixture(t, "")
			if format == "2" {
				f.formatTwo(t)
			}
			f.writeConfig(t, readFile(t, f.config)+"targets:\n  drill: {profile: dr}\n")
			f.run(t, "drill", "--target", "drill").expectFail(t, exitNotFound, "no snapshot")
			f.run(t, "backup").expectOK(t)
			f.run(t, "drill").expectFail(t, exitUsage, "--target NAME")
			f.run(t, "drill", "--target", "nope").expectFail(t, exitUsage, `no restore target "nope"`, "drill")
			f.run(t, "drill", "a", "b", "--target", "drill").expectFail(t, exitUsage, "at most one argument")
			f.run(t, "check", "--max-drill-age", "8x").expectNagios(t, 3, "8x")
			r := f.run(t, "drill", "--target", "drill", "--quiet")
			r.expectOK(t)
			if r.stdout != "" || r.stderr != "" {
				t.Errorf("a quiet drill that passed printed:\n%s%s", r.stdout, r.stderr)
			}
			st := readDrillStatus(t, f.repo)
			if st["result"] != "success" || !strings.Contains(fmt.Sprint(st["checks"]), "files") {
				t.Errorf("status: %v", st)
			}
			entries, err := os.ReadDir(filepath.Join(f.dir, "state", "drill"))
			if err != nil || len(entries) != 0 {
				t.Errorf("the scratch directory holds %v (%v)", entries, err)
			}
			f.run(t, "check", "--max-drill-age", "1d").expectNagios(t, 0, "last successful restore drill")
		})
	}
}

// TestDrillZooKeeperAll: with a source profile all (the whole tree below
// the chroot, Zuul's runtime state /zuul included) the drill restores and
// checks everything into its chroot, and removes it.
func TestDrillZooKeeperAll(t *testing.T) {
	prod, dev := zktest.Server{Which: "prod", TLS: true}, zktest.Server{Which: "dev", TLS: true}
	pchr, dchr := prod.Chroot(t), dev.Chroot(t)
	zktest.Build(t, prod.Connect(t, pchr), zktest.ZuulTree(zktest.ZuulShape{Projects: 3, NodepoolNodes: 2, Requests: 2, ZuulNodes: 4, Images: 1}))
	ca, cert, key := zktest.TLSFiles(t)
	f := &fixture{dir: t.TempDir()}
	f.repo = filepath.Join(f.dir, "repo")
	if err := os.MkdirAll(f.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	f.writeConfig(t, fmt.Sprintf(`repository:
  local: {path: %s}
sources:
  zookeeper:
    servers: [%s]
    chroot: %s
    profile: all
    tls: {ca_file: %s, cert_file: %s, key_file: %s}
targets:
  drill:
    zookeeper: {servers: [%s], chroot: %s}
`, f.repo, prod.Addr(t), pchr, ca, cert, key, dev.Addr(t), dchr))
	f.run(t, "backup").expectOK(t)
	r := f.run(t, "drill", "--target", "drill")
	r.expectOK(t)
	inOrder(t, r.stdout, "1. zookeeper", "every subtree", "create /nodepool on zookeeper", "create /zuul on zookeeper",
		"Verification", "znodes /nodepool", "OK", "znodes /zuul ", "OK", "Drill passed")
	if names, _, err := dev.Connect(t, dchr).Children(t.Context(), "/"); err != nil || len(names) != 0 {
		t.Errorf("the target's chroot holds %v (%v) after the drill", names, err)
	}
	st := readDrillStatus(t, f.repo)
	if st["result"] != "success" {
		t.Errorf("status %v", st)
	}
}
