package mariadb

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// sampleParts builds a database src with a table t (5 rows in two data
// parts, values with NUL, quotes, backslashes and a 4-byte character), an
// empty table log, a view and a trigger that name src explicitly.
func sampleParts(src string, rowsInMeta int) *fakeParts {
	f := newFakeParts()
	f.add(src+".schema", stream(src, src+".schema",
		"CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `name` varbinary(100) DEFAULT NULL,\n  `n` int NOT NULL,\n"+
			"  PRIMARY KEY (`id`),\n  KEY `n` (`n`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		"CREATE TABLE `log` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `msg` varbinary(100),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"),
		mariadbpart.DatabaseMeta{Database: src, LockMode: mariadbpart.LockBackupStage, Tables: []mariadbpart.TableMeta{
			{Name: "t", Rows: int64(rowsInMeta), Parts: []string{src + ".t.data", src + ".t.data.1"}},
			{Name: "log", Rows: 0, Parts: []string{src + ".log.data"}},
		}})
	f.add(src+".t.data", stream(src, src+".t.data",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (1,'a\\0b',10),(2,'it\\'s \\\\ ok',20)"),
		mariadbpart.DataMeta{Database: src, Table: "t", Chunk: 0, Chunks: 2, Rows: 2})
	f.add(src+".t.data.1", stream(src, src+".t.data.1",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (3,'\xf0\x9f\x8e\x89',30),(4,NULL,40)",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (5,'',50)"),
		mariadbpart.DataMeta{Database: src, Table: "t", Chunk: 1, Chunks: 2, Rows: 3})
	f.add(src+".post", stream(src, src+".post",
		"CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select `"+src+"`.`t`.`id` AS `id`,`"+src+"`.`t`.`n` AS `n` from `"+src+"`.`t`",
		"CREATE TRIGGER `tr` AFTER INSERT ON `t` FOR EACH ROW\nBEGIN\n  INSERT INTO `"+src+"`.`log` (`msg`) VALUES (CONCAT('new ', NEW.`id`, ' in `"+src+"`.x'));\nEND"),
		mariadbpart.PostMeta{Database: src, Views: []string{"v"}, Triggers: []string{"tr"}})
	return f
}

func TestRestoreRenamed(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src, dst := dbName(t, admin, "zsrc"), dbName(t, admin, "zdst")
	f := sampleParts(src, 5)
	var out bytes.Buffer
	cfg.DBMap, cfg.Out = map[string]string{src: dst}, &out
	r := New(cfg)
	defer r.Close()
	for _, p := range f.parts {
		if err := r.Check(t.Context(), p); err != nil {
			t.Fatalf("check %s: %v", p.Name, err)
		}
	}
	plan := strings.Join(r.Plan(f.parts), "\n")
	for _, want := range []string{"create database " + dst + " on " + cfg.Addr, "load table " + src + ".t (5 rows, 2 parts)", "create 1 views, 1 triggers in " + dst} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if err := r.Restore(t.Context(), f.parts, f.open); err != nil {
		t.Fatal(err)
	}
	t.Logf("summary:\n%s", out.String())
	if !strings.Contains(out.String(), dst) || strings.Contains(out.String(), "MISMATCH") {
		t.Errorf("summary:\n%s", out.String())
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", src); n != 0 {
		t.Errorf("source name %s was created on the target", src)
	}
	if n := queryInt(t, admin, "SELECT SUM(n) FROM `"+dst+"`.`v`"); n != 150 {
		t.Errorf("view sum = %d, want 150", n)
	}
	var name []byte
	if err := admin.QueryRowContext(t.Context(), "SELECT name FROM `"+dst+"`.t WHERE id = 2").Scan(&name); err != nil || string(name) != `it's \ ok` {
		t.Errorf("row 2: %q %v", name, err)
	}
	if err := admin.QueryRowContext(t.Context(), "SELECT name FROM `"+dst+"`.t WHERE id = 3").Scan(&name); err != nil || string(name) != "🎉" {
		t.Errorf("row 3: %q %v", name, err)
	}
	if _, err := admin.ExecContext(t.Context(), "INSERT INTO `"+dst+"`.t VALUES (6, 'x', 60)"); err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := admin.QueryRowContext(t.Context(), "SELECT msg FROM `"+dst+"`.log").Scan(&msg); err != nil || msg != "new 6 in `"+src+"`.x" {
		t.Errorf("trigger wrote %q (%v); the string literal must keep the source name", msg, err)
	}
	var def string
	if err := admin.QueryRowContext(t.Context(), "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", dst).Scan(&def); err != nil || strings.Contains(def, src) {
		t.Errorf("view definition %q (%v) still names %s", def, err, src)
	}
	for name, n := range f.opened {
		if n != 1 {
			t.Errorf("part %s opened %d times", name, n)
		}
	}
}

func TestRefuseNonEmptyThenForce(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE `"+src+"`"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(t.Context(), "CREATE TABLE `"+src+"`.keepme (id int)"); err != nil {
		t.Fatal(err)
	}
	f := sampleParts(src, 5)
	r := New(cfg)
	defer r.Close()
	err := r.Check(t.Context(), f.parts[0])
	if !errors.Is(err, restore.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "--db-map") {
		t.Fatalf("check of a non-empty target: %v", err)
	}
	if err := r.Restore(t.Context(), f.parts, f.open); !errors.Is(err, restore.ErrTargetNotEmpty) {
		t.Fatalf("restore into a non-empty target: %v", err)
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", src); n != 1 {
		t.Fatalf("refused restore changed the target: %d tables", n)
	}

	var logs bytes.Buffer
	cfg.Force = true
	cfg.Log = slogTo(&logs)
	rf := New(cfg)
	defer rf.Close()
	if err := rf.Check(t.Context(), f.parts[0]); err != nil {
		t.Fatalf("check with force: %v", err)
	}
	if err := rf.Restore(t.Context(), f.parts, f.open); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "dropping database "+src+" on "+cfg.Addr) {
		t.Errorf("force did not say it drops the database:\n%s", logs.String())
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'keepme'", src); n != 0 {
		t.Errorf("old table survived --force")
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM `"+src+"`.t"); n != 5 {
		t.Errorf("rows = %d", n)
	}
}

func TestEmptyExistingTarget(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE `"+src+"`"); err != nil {
		t.Fatal(err)
	}
	f := sampleParts(src, 5)
	r := New(cfg)
	defer r.Close()
	if err := r.Check(t.Context(), f.parts[0]); err != nil {
		t.Fatalf("an existing empty database should be accepted: %v", err)
	}
	if err := r.Restore(t.Context(), f.parts, f.open); err != nil {
		t.Fatal(err)
	}
}
