package mariadb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

func tortureSchema(db string) []string {
	return []string{
		"CREATE DATABASE " + db + " CHARACTER SET utf8mb4",
		"USE " + db,
		"CREATE SEQUENCE seq1 START WITH 100 INCREMENT BY 5",
		`CREATE TABLE t_types (
			id INT PRIMARY KEY AUTO_INCREMENT,
			b BLOB, vb VARBINARY(300), s VARCHAR(200), s_l1 VARCHAR(50) CHARACTER SET latin1,
			ne VARCHAR(10) NULL, dt DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, tm TIME(3), y YEAR,
			bt BIT(10), dec1 DECIMAL(30,10), f FLOAT, dbl DOUBLE, j JSON, e ENUM('a','b c'), st SET('x','y','z'),
			g GEOMETRY, pt POINT, gen INT AS (y + 1) STORED, vgen VARCHAR(220) AS (CONCAT(s,'!')) VIRTUAL,
			u BIGINT UNSIGNED, big LONGBLOB, ip INET6, uu UUID)`,
		"CREATE TABLE ns (id BIGINT NOT NULL DEFAULT NEXTVAL(seq1) PRIMARY KEY, v INT)",
		"CREATE TABLE big (id INT UNSIGNED PRIMARY KEY, pad VARCHAR(100))",
		"CREATE TABLE nopk (a INT, b TEXT)",
		// No FLOAT or DOUBLE: read through the text protocol, whose integers
		// the driver parses and the dump writes back.
		`CREATE TABLE ints (id TINYINT PRIMARY KEY, sm SMALLINT, mi MEDIUMINT UNSIGNED, i INT(8) ZEROFILL,
			bi BIGINT, ub BIGINT UNSIGNED, y YEAR, bt BIT(64), dc DECIMAL(65,30), s VARCHAR(5))`,
		"CREATE TABLE my (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=MyISAM",
		"CREATE TABLE sv (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
		"CREATE TABLE `odd.name` (`we``ird col` INT)",
		"CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
		"INSERT INTO alembic_version VALUES ('abc123')",
		"CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
		"CREATE PROCEDURE p_count(OUT n INT)\nBEGIN\n  -- comment\n  SELECT COUNT(*) INTO n FROM t_types;\nEND",
		"CREATE VIEW a_view AS SELECT id, twice(id) AS tw FROM b_view_base",
		"CREATE TRIGGER trg BEFORE INSERT ON nopk FOR EACH ROW SET NEW.b = CONCAT(IFNULL(NEW.b,''), '+trg')",
		"CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM nopk WHERE a < 0",
	}
}

func TestRoundTrip(t *testing.T) {
	prod, dev := testServers(t)
	db := tempDB(t, prod, dev)
	schema := tortureSchema(db)
	// a_view depends on a later-named view: create the base view first.
	schema = slices.Insert(schema, len(schema)-3, "CREATE VIEW b_view_base AS SELECT id FROM t_types WHERE id > 0")
	for i, s := range schema {
		if strings.HasPrefix(s, "CREATE VIEW a_view") {
			schema = append(schema[:i], schema[i+1:]...)
			schema = append(schema, s)
			break
		}
	}
	ctx := t.Context()
	conn, err := prod.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, s := range schema {
		mustExec(s)
	}
	mustExec("USE " + db)
	mustExec("SET time_zone='+00:00', NAMES binary")
	allBytes := make([]byte, 512)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	floats := []float32{16777217, math.MaxFloat32, 1.17549435e-38, float32(math.Copysign(0, -1)), 1e-45, -3.4028235e38, 0.1}
	doubles := []float64{math.MaxFloat64, 2.2250738585072014e-308, math.Copysign(0, -1), 0.1, 5e-324, 1e21}
	bigVal := bytes.Repeat([]byte("0123456789\x00'\\\n"), 250_000) // 3.75 MB: larger than one statement
	ins := `INSERT INTO t_types (b, vb, s, s_l1, ne, dt, ts, d, tm, y, bt, dec1, f, dbl, j, e, st, g, pt, u, big, ip, uu)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, b'1010101010', ?, ?, ?, ?, ?, ?, ST_GeomFromText(?, 4326), ST_GeomFromText(?), ?, ?, CONVERT(? USING utf8mb4), CONVERT(? USING utf8mb4))`
	for i := range floats {
		var bigArg any
		if i == 0 {
			bigArg = bigVal
		}
		mustExec(ins, allBytes, []byte("\x00'\"\\\n\r\x1a;;"), "héllo 😀 ;;\n--x", []byte{0xe9, 0xff}, "",
			"2024-02-29 23:59:59.123456", "2038-01-19 03:14:07.999999", "1000-01-01", "-838:59:59.999", 2155,
			"-12345678901234567890.0123456789", floats[i], doubles[i%len(doubles)], `{"a": [1, "x\u0000"], "b": null}`,
			"b c", "x,z", "POLYGON((0 0,1 0,1 1,0 0))", "POINT(1.5 -2.25)", uint64(math.MaxUint64), bigArg, "::ffff:1.2.3.4",
			"123e4567-e89b-12d3-a456-426655440000")
	}
	mustExec("INSERT INTO t_types (id) VALUES (1000)") // all NULL
	mustExec("INSERT INTO ns (v) VALUES (1), (2), (3)")
	for i := range 1000 {
		mustExec("INSERT INTO big VALUES (?, ?)", i*7+3, strings.Repeat("p", i%100))
	}
	mustExec("INSERT INTO big VALUES (4294967295, 'max')")
	mustExec("INSERT INTO nopk VALUES (1, 'a'), (NULL, NULL), (1, 'a')")
	mustExec("INSERT INTO my VALUES (1, 'x')")
	mustExec(`INSERT INTO ints VALUES
		(-128, -32768, 16777215, 42, -9223372036854775808, 18446744073709551615, 0, b'1111111111111111111111111111111111111111111111111111111111111111', -99999999999999999999999999999999999.999999999999999999999999999999, ''),
		(127, 32767, 0, 4294967295, 9223372036854775807, 0, 2155, b'0', 0.000000000000000000000000000001, NULL),
		(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x')`)
	mustExec("INSERT INTO `odd.name` VALUES (1)")
	mustExec("INSERT INTO sv VALUES (1, 1), (2, 2)")
	mustExec("UPDATE sv SET v = 10 WHERE id = 1")
	mustExec("DELETE FROM sv WHERE id = 2")
	mustExec("ANALYZE TABLE big")

	cfg := prod.config(db)
	cfg.Workers, cfg.ChunkRows = 3, 100
	sink := &memSink{}
	if err := New(cfg).Snapshot(ctx, sink); err != nil {
		t.Fatal(err)
	}
	var m mariadbpart.DatabaseMeta
	if err := json.Unmarshal(sink.meta[mariadbpart.SchemaPartName(db)], &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("schema meta: %s", sink.meta[mariadbpart.SchemaPartName(db)])
	if m.AlembicVersion != "abc123" || m.LockMode == "" || !slices.Contains(m.NonTransactional, "my") {
		t.Errorf("meta: %+v", m)
	}
	for _, tm := range m.Tables {
		if tm.Name == "big" && len(tm.Parts) < 5 {
			t.Errorf("big was not split: %v", tm.Parts)
		}
		if tm.Name == "big" && tm.Rows != 1001 || tm.Name == "sv" && tm.Rows != 3 || tm.Name == "t_types" && tm.Rows != 8 {
			t.Errorf("rows %s: %d", tm.Name, tm.Rows)
		}
	}

	dev.loadAll(t, sink, db)

	tables := prod.strings(t, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED') ORDER BY 1", db)
	for _, tn := range tables {
		q := fmt.Sprintf("CHECKSUM TABLE %s.`%s`", db, strings.ReplaceAll(tn, "`", "``"))
		a, b := prod.strings(t, q), dev.strings(t, q)
		if a[0] != b[0] {
			t.Errorf("%s: prod %s, dev %s", tn, a, b)
		}
	}
	q := "SELECT id, v, ROW_START, ROW_END FROM " + db + ".sv FOR SYSTEM_TIME ALL ORDER BY id, ROW_START"
	if a, b := prod.strings(t, q), dev.strings(t, q); !slices.Equal(a, b) {
		t.Errorf("history: prod %v\ndev %v", a, b)
	}
	q = "SELECT id, f, dbl FROM " + db + ".t_types ORDER BY id"
	rowsOf := func(s *server) (out []string) {
		stmt, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stmt.Close() }()
		rows, err := stmt.QueryContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var id int
			var f, d any
			if err := rows.Scan(&id, &f, &d); err != nil {
				t.Fatal(err)
			}
			if f32, ok := f.(float32); ok {
				out = append(out, fmt.Sprintf("%d %08x %016x", id, math.Float32bits(f32), math.Float64bits(d.(float64))))
			}
		}
		return out
	}
	pf, df := rowsOf(prod), rowsOf(dev)
	if !slices.Equal(pf, df) || len(pf) != len(floats) {
		t.Errorf("float bits: prod %v, dev %v", pf, df)
	}
	if pf[0] != fmt.Sprintf("1 %08x %016x", math.Float32bits(16777216), math.Float64bits(math.MaxFloat64)) {
		t.Errorf("16777217 stored as %s", pf[0])
	}
	if got := dev.strings(t, "SELECT MAX(LENGTH(big)) FROM "+db+".t_types"); got[0] != fmt.Sprint(len(bigVal)) {
		t.Errorf("big value length %v", got)
	}
	next := func(s *server) []string {
		s.exec(t, "INSERT INTO "+db+".ns (v) VALUES (4)")
		return s.strings(t, "SELECT MAX(id) FROM "+db+".ns")
	}
	if a, b := next(prod), next(dev); a[0] != b[0] {
		t.Errorf("sequence resumes at %s on dev, %s on prod", b, a)
	}
	objects := "SELECT 'r', ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=? UNION ALL " +
		"SELECT 'v', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA=? UNION ALL " +
		"SELECT 't', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=? UNION ALL " +
		"SELECT 'e', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA=? ORDER BY 1, 2"
	if a, b := prod.strings(t, objects, db, db, db, db), dev.strings(t, objects, db, db, db, db); !slices.Equal(a, b) || len(a) != 6 {
		t.Errorf("objects: prod %v, dev %v", a, b)
	}
	if got := dev.strings(t, "SELECT SUM(tw) FROM "+db+".a_view"); got[0] == "" {
		t.Error("a_view does not work on dev")
	}
}
