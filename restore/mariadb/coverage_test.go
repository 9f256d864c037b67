package mariadb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	bm "github.com/zuulstate/zuulstate/backup/mariadb"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// coverageFixture has one object of every kind: tables (plain and
// system-versioned), a sequence, views, a trigger, an event, a function,
// and, created under sql_mode=ORACLE, a procedure and a package with its
// body. The views come after the routines in the dump; one of them means
// something else under ORACLE (CONCAT skips NULL there), so it must not be
// loaded under the last routine's sql_mode.
var coverageFixture = []string{
	"CREATE SEQUENCE s START WITH 7",
	"CREATE TABLE t (id INT PRIMARY KEY, v INT)",
	"CREATE TABLE sv (id INT PRIMARY KEY) WITH SYSTEM VERSIONING",
	"CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
	"CREATE VIEW v AS SELECT id, f(id) AS twice FROM t",
	"CREATE VIEW vc AS SELECT CONCAT('a', NULL) AS c",
	"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = IFNULL(NEW.v, 0) + 1",
	"CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM t WHERE id < 0",
	"SET SESSION sql_mode = ORACLE",
	`CREATE PROCEDURE p AS
  n INT;
BEGIN
  SELECT COUNT(*) INTO n FROM t;
END`,
	`CREATE PACKAGE pk AS
  FUNCTION next_id RETURN INT;
  PROCEDURE bump(n INT);
END`,
	`CREATE PACKAGE BODY pk AS
  counter INT := 0;
  FUNCTION next_id RETURN INT AS
  BEGIN
    counter := counter + 1;
    RETURN counter || '';
  END;
  PROCEDURE bump(n INT) AS
  BEGIN
    counter := counter + n;
  END;
END`,
}

// TestObjectCoverage dumps a database with every kind of object the server
// has and checks the dump's metadata against information_schema
// (ROUTINES of every ROUTINE_TYPE the server knows, TRIGGERS, VIEWS,
// EVENTS, TABLES with sequences): an object the server has and the dump
// lacks fails here instead of vanishing. The restore then recreates every
// one of them, packages with their sql_mode.
func TestObjectCoverage(t *testing.T) {
	prod := mariadbtest.Open(t, "prod")
	src := mariadbtest.CreateDB(t, prod, "zcov_src")
	conn, err := prod.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range append([]string{"USE " + mariadbtest.QuoteIdent(src)}, coverageFixture...) {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Every kind of routine the server knows (mysql.proc.type) is in the
	// fixture, so a new kind fails this test until the dump knows it.
	var field, typ, null, key, extra string
	var def *string
	if err := prod.QueryRowContext(t.Context(), "SHOW COLUMNS FROM mysql.proc LIKE 'type'").Scan(&field, &typ, &null, &key, &def, &extra); err != nil {
		t.Fatal(err)
	}
	kinds := strings.Split(strings.NewReplacer("enum(", "", ")", "", "'", "").Replace(typ), ",")
	have := serverObjects(t, prod, src)
	for _, k := range kinds {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(have)), func(o string) bool { return strings.HasPrefix(o, k+" ") }) {
			t.Fatalf("the fixture has no routine of kind %s (the server knows %v)", k, kinds)
		}
	}

	sink := &memSink{f: newFakeParts()}
	pc := mariadbtest.Config(t, "prod")
	if err := bm.New(bm.Config{Addr: pc.Addr, User: pc.User, Password: pc.Passwd, Databases: []string{src}, Workers: 2}).Snapshot(t.Context(), sink); err != nil {
		t.Fatalf("dump: %v", err)
	}
	dumped := dumpedObjects(t, sink.f, src)
	for o := range have {
		if !dumped[o] {
			t.Errorf("the server has %s, the dump does not", o)
		}
	}
	for o := range dumped {
		if !have[o] {
			t.Errorf("the dump lists %s, which the server does not have", o)
		}
	}

	cfg := devConfig(t)
	dst := dbName(t, adminDB(t, cfg), "zcov_dst")
	var out bytes.Buffer
	cfg.DBMap, cfg.Out = map[string]string{src: dst}, &out
	r := New(cfg)
	defer r.Close()
	if plan := strings.Join(r.Plan(sink.f.parts), "\n"); !strings.Contains(plan, "1 packages, 1 package bodies") {
		t.Errorf("plan does not count the packages:\n%s", plan)
	}
	if err := r.Restore(t.Context(), sink.f.parts, sink.f.open); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	dev := mariadbtest.Open(t, "dev")
	mariadbtest.Compare(t, prod, src, dev, dst)
	var n int
	if err := dev.QueryRowContext(t.Context(), "SELECT "+mariadbtest.QuoteIdent(dst)+".pk.next_id()").Scan(&n); err != nil || n != 1 {
		t.Errorf("the restored package: next_id() = %d, %v", n, err)
	}
	var c sql.NullString
	if err := dev.QueryRowContext(t.Context(), "SELECT c FROM "+mariadbtest.QuoteIdent(dst)+".vc").Scan(&c); err != nil || c.Valid {
		t.Errorf("the restored view vc gives %v (%v), want NULL as on the source", c, err)
	}
}

// serverObjects lists database name's objects as information_schema
// shows them, as "KIND name".
func serverObjects(t *testing.T, db *sql.DB, name string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, q := range []string{
		"SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
		"SELECT CONCAT('TRIGGER ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
		"SELECT CONCAT('VIEW ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
		"SELECT CONCAT('EVENT ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
		"SELECT CONCAT(TABLE_TYPE, ' ', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
	} {
		rows, err := db.QueryContext(t.Context(), q, name)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var o string
			if err := rows.Scan(&o); err != nil {
				t.Fatal(err)
			}
			out[o] = true
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dumpedObjects lists what the dump of database name says it holds, in
// serverObjects' terms, from the metadata of its schema and post parts.
func dumpedObjects(t *testing.T, f *fakeParts, name string) map[string]bool {
	t.Helper()
	var schema mariadbpart.DatabaseMeta
	var post mariadbpart.PostMeta
	for _, p := range f.parts {
		var err error
		switch p.Name {
		case mariadbpart.SchemaPartName(name):
			err = json.Unmarshal(p.Meta, &schema)
		case mariadbpart.PostPartName(name):
			err = json.Unmarshal(p.Meta, &post)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]bool{}
	add := func(kind string, names []string) {
		for _, n := range names {
			out[kind+" "+n] = true
		}
	}
	for _, tm := range schema.Tables {
		kind := "BASE TABLE"
		if tm.SystemVersioned {
			kind = "SYSTEM VERSIONED"
		}
		add(kind, []string{tm.Name})
	}
	add("SEQUENCE", schema.Sequences)
	add("FUNCTION", post.Functions)
	add("PROCEDURE", post.Procedures)
	add("PACKAGE", post.Packages)
	add("PACKAGE BODY", post.PackageBodies)
	add("VIEW", post.Views)
	add("TRIGGER", post.Triggers)
	add("EVENT", post.Events)
	return out
}
