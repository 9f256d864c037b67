package mariadbtest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// Mismatch is one difference Diff found.
type Mismatch struct {
	Check  string // tables, create_table, auto_increment, row_count, checksum, rows, history, views, triggers, routines, events, sequences
	Object string // table, view, routine, ... name ("" for the whole database)
	Detail string
}

func (m Mismatch) String() string { return m.Check + " " + m.Object + ": " + m.Detail }

// Key is "check object", for comparing sets of expected mismatches.
func (m Mismatch) Key() string { return m.Check + " " + m.Object }

// Compare fails the test for every difference between database srcDB on src
// and dstDB on dst (see Diff).
func Compare(t testing.TB, src *sql.DB, srcDB string, dst *sql.DB, dstDB string) {
	t.Helper()
	ms, err := Diff(context.Background(), src, srcDB, dst, dstDB)
	if err != nil {
		t.Fatalf("mariadbtest: comparing %s with %s: %v", srcDB, dstDB, err)
	}
	for _, m := range ms {
		t.Errorf("%s → %s: %s", srcDB, dstDB, m)
	}
}

// Diff compares two databases and returns every difference:
//   - the same base tables, sequences, views, triggers, routines and events,
//     with equal definitions once the database name is replaced;
//   - per base table: SHOW CREATE TABLE text, AUTO_INCREMENT counter, row
//     count, CHECKSUM TABLE, and every row compared value by value in primary
//     key order (all columns when there is none) through the binary protocol,
//     so FLOAT and DOUBLE compare by bits and everything else as raw bytes
//     (the connection runs SET NAMES binary);
//   - for system-versioned tables, the history rows (FOR SYSTEM_TIME ALL)
//     with their ROW_START/ROW_END;
//   - for sequences, their state (SELECT * FROM seq: next_not_cached_value, …);
//   - views are queried on dst (they work).
func Diff(ctx context.Context, src *sql.DB, srcDB string, dst *sql.DB, dstDB string) ([]Mismatch, error) {
	sc, err := binaryConn(ctx, src)
	if err != nil {
		return nil, err
	}
	defer releaseConn(sc)
	dc, err := binaryConn(ctx, dst)
	if err != nil {
		return nil, err
	}
	defer releaseConn(dc)
	d := &differ{ctx: ctx, src: sc, dst: dc, srcDB: srcDB, dstDB: dstDB}
	for _, step := range []func() error{d.tables, d.sequences, d.views, d.triggers, d.routines, d.events} {
		if err := step(); err != nil {
			return d.out, err
		}
	}
	return d.out, nil
}

func binaryConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, "SET NAMES binary"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// releaseConn closes the connection for good: its character set was changed.
func releaseConn(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	c.Close()
}

type differ struct {
	ctx          context.Context
	src, dst     *sql.Conn
	srcDB, dstDB string
	out          []Mismatch
}

func (d *differ) add(check, object, format string, args ...any) {
	d.out = append(d.out, Mismatch{Check: check, Object: object, Detail: fmt.Sprintf(format, args...)})
}

// norm replaces the database name in a definition.
func norm(s, db string) string {
	s = strings.ReplaceAll(s, QuoteIdent(db)+".", "`DB`.")
	return strings.ReplaceAll(s, "'"+db+"'", "'DB'")
}

// queryStrings runs a query returning rows of text, keyed by the first column.
func queryStrings(ctx context.Context, c *sql.Conn, query string, args ...any) (map[string][]string, []string, error) {
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", abbrev(query), err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	out := map[string][]string{}
	var order []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			} else {
				row[i] = "NULL"
			}
		}
		out[row[0]] = row[1:]
		order = append(order, row[0])
	}
	return out, order, rows.Err()
}

// both runs query with the database name as its only argument on both sides.
func (d *differ) both(query string) (src, dst map[string][]string, order []string, err error) {
	src, order, err = queryStrings(d.ctx, d.src, query, d.srcDB)
	if err != nil {
		return nil, nil, nil, err
	}
	dst, _, err = queryStrings(d.ctx, d.dst, query, d.dstDB)
	return src, dst, order, err
}

// compareSets reports objects missing on either side and, for the common ones,
// different attribute values (after replacing the database name).
func (d *differ) compareSets(check string, src, dst map[string][]string, order []string) []string {
	var common []string
	for _, name := range order {
		dv, ok := dst[name]
		if !ok {
			d.add(check, name, "missing in %s", d.dstDB)
			continue
		}
		common = append(common, name)
		sv := src[name]
		for i := range sv {
			if a, b := norm(sv[i], d.srcDB), norm(dv[i], d.dstDB); a != b {
				d.add(check, name, "differs:\n  src: %s\n  dst: %s", abbrev(a), abbrev(b))
				break
			}
		}
	}
	for name := range dst {
		if _, ok := src[name]; !ok {
			d.add(check, name, "extra in %s", d.dstDB)
		}
	}
	return common
}

func (d *differ) tables() error {
	src, dst, order, err := d.both(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE, IFNULL(AUTO_INCREMENT, 'none')
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
		ORDER BY TABLE_NAME`)
	if err != nil {
		return err
	}
	for _, name := range order {
		if dv, ok := dst[name]; ok && src[name][2] != dv[2] {
			d.add("auto_increment", name, "src %s, dst %s", src[name][2], dv[2])
			dst[name][2] = src[name][2] // reported once
		}
	}
	for _, name := range d.compareSets("tables", src, dst, order) {
		if err := d.table(name, src[name][0] == "SYSTEM VERSIONED"); err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
	}
	return nil
}

func (d *differ) showCreate(c *sql.Conn, kind, db, name string, col int) (string, error) {
	rows, err := c.QueryContext(d.ctx, "SHOW CREATE "+kind+" "+QuoteIdent(db)+"."+QuoteIdent(name))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		return "", fmt.Errorf("SHOW CREATE %s %s: no row", kind, name)
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	return vals[col].String, rows.Close()
}

func (d *differ) table(name string, versioned bool) error {
	sq, dq := QuoteIdent(d.srcDB)+"."+QuoteIdent(name), QuoteIdent(d.dstDB)+"."+QuoteIdent(name)
	sCreate, err := d.showCreate(d.src, "TABLE", d.srcDB, name, 1)
	if err != nil {
		return err
	}
	dCreate, err := d.showCreate(d.dst, "TABLE", d.dstDB, name, 1)
	if err != nil {
		return err
	}
	if norm(sCreate, d.srcDB) != norm(dCreate, d.dstDB) {
		d.add("create_table", name, "differs:\n  src: %s\n  dst: %s", sCreate, dCreate)
	}
	var sn, dn int64
	if err := d.src.QueryRowContext(d.ctx, "SELECT COUNT(*) FROM "+sq).Scan(&sn); err != nil {
		return err
	}
	if err := d.dst.QueryRowContext(d.ctx, "SELECT COUNT(*) FROM "+dq).Scan(&dn); err != nil {
		return err
	}
	if sn != dn {
		d.add("row_count", name, "src %d rows, dst %d", sn, dn)
	}
	var sName, dName string
	var sSum, dSum sql.NullInt64
	if err := d.src.QueryRowContext(d.ctx, "CHECKSUM TABLE "+sq).Scan(&sName, &sSum); err != nil {
		return err
	}
	if err := d.dst.QueryRowContext(d.ctx, "CHECKSUM TABLE "+dq).Scan(&dName, &dSum); err != nil {
		return err
	}
	if sSum != dSum {
		d.add("checksum", name, "src %v, dst %v", sSum, dSum)
	}
	order, err := d.orderBy(name)
	if err != nil {
		return err
	}
	if err := d.rows("rows", name, "SELECT * FROM %s ORDER BY "+order); err != nil {
		return err
	}
	if versioned {
		return d.rows("history", name, "SELECT *, ROW_START, ROW_END FROM %s FOR SYSTEM_TIME ALL ORDER BY "+order+", ROW_START")
	}
	return nil
}

// orderBy returns the primary key columns, or every column that can be
// sorted when there is none.
func (d *differ) orderBy(table string) (string, error) {
	rows, err := d.src.QueryContext(d.ctx, `SELECT COLUMN_NAME, COLUMN_KEY, DATA_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, d.srcDB, table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var pk, all []string
	for rows.Next() {
		var col, key, typ string
		if err := rows.Scan(&col, &key, &typ); err != nil {
			return "", err
		}
		if key == "PRI" {
			pk = append(pk, QuoteIdent(col))
		}
		switch typ {
		case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
			all = append(all, "ST_AsBinary("+QuoteIdent(col)+")")
		default:
			all = append(all, QuoteIdent(col))
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	// Primary key columns come from the index definition order in
	// information_schema.STATISTICS; ordinal order is as good for a total order.
	if len(pk) > 0 {
		return strings.Join(pk, ", "), nil
	}
	return strings.Join(all, ", "), nil
}

// rows compares the result of query (with %s the qualified table name) on
// both sides, row by row, through the binary protocol (a query with an
// argument is prepared by the driver).
func (d *differ) rows(check, name, query string) error {
	sq := fmt.Sprintf(query, QuoteIdent(d.srcDB)+"."+QuoteIdent(name))
	dq := fmt.Sprintf(query, QuoteIdent(d.dstDB)+"."+QuoteIdent(name))
	sq = strings.Replace(sq, " ORDER BY ", " "+whereOrAnd(sq)+" 1 = ? ORDER BY ", 1)
	dq = strings.Replace(dq, " ORDER BY ", " "+whereOrAnd(dq)+" 1 = ? ORDER BY ", 1)
	sr, err := d.src.QueryContext(d.ctx, sq, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", abbrev(sq), err)
	}
	defer sr.Close()
	dr, err := d.dst.QueryContext(d.ctx, dq, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", abbrev(dq), err)
	}
	defer dr.Close()
	cols, err := sr.Columns()
	if err != nil {
		return err
	}
	dcols, err := dr.Columns()
	if err != nil {
		return err
	}
	if !slices.Equal(cols, dcols) {
		d.add(check, name, "columns differ: src %v, dst %v", cols, dcols)
		return nil
	}
	sv, dv := make([]any, len(cols)), make([]any, len(cols))
	sp, dp := make([]any, len(cols)), make([]any, len(cols))
	for i := range cols {
		sp[i], dp[i] = &sv[i], &dv[i]
	}
	diffs := 0
	for n := 1; ; n++ {
		sok, dok := sr.Next(), dr.Next()
		if !sok || !dok {
			if sok != dok {
				d.add(check, name, "row %d: only in %s", n, map[bool]string{true: d.srcDB, false: d.dstDB}[sok])
			}
			break
		}
		if err := sr.Scan(sp...); err != nil {
			return err
		}
		if err := dr.Scan(dp...); err != nil {
			return err
		}
		for i := range cols {
			if !sameValue(sv[i], dv[i]) {
				diffs++
				if diffs <= 5 {
					d.add(check, name, "row %d column %s: src %s, dst %s", n, cols[i], show(sv[i]), show(dv[i]))
				}
			}
		}
	}
	if diffs > 5 {
		d.add(check, name, "%d more differing values", diffs-5)
	}
	if err := sr.Err(); err != nil {
		return err
	}
	return dr.Err()
}

func whereOrAnd(q string) string {
	if strings.Contains(q, " WHERE ") {
		return "AND"
	}
	return "WHERE"
}

// sameValue compares two scanned values: floats by their bits, bytes exactly.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	default:
		return a == b
	}
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float32:
		return fmt.Sprintf("float32 %v (%#08x)", x, math.Float32bits(x))
	case float64:
		return fmt.Sprintf("float64 %v (%#016x)", x, math.Float64bits(x))
	case []byte:
		if len(x) > 64 {
			return fmt.Sprintf("%d bytes %x…", len(x), x[:32])
		}
		return fmt.Sprintf("%q", x)
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

func (d *differ) sequences() error {
	src, dst, order, err := d.both(`SELECT TABLE_NAME, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE' ORDER BY TABLE_NAME`)
	if err != nil {
		return err
	}
	for _, name := range d.compareSets("sequences", src, dst, order) {
		sc, err := d.showCreate(d.src, "SEQUENCE", d.srcDB, name, 1)
		if err != nil {
			return err
		}
		dc, err := d.showCreate(d.dst, "SEQUENCE", d.dstDB, name, 1)
		if err != nil {
			return err
		}
		if sc != dc {
			d.add("sequences", name, "definition differs:\n  src: %s\n  dst: %s", sc, dc)
		}
		q := "SELECT 'x', CONCAT_WS(',', next_not_cached_value, minimum_value, maximum_value, start_value, increment, cache_size, cycle_option, cycle_count) FROM %s.%s"
		ss, _, err := queryStrings(d.ctx, d.src, fmt.Sprintf(q, QuoteIdent(d.srcDB), QuoteIdent(name)))
		if err != nil {
			return err
		}
		ds, _, err := queryStrings(d.ctx, d.dst, fmt.Sprintf(q, QuoteIdent(d.dstDB), QuoteIdent(name)))
		if err != nil {
			return err
		}
		if !slices.Equal(ss["x"], ds["x"]) {
			d.add("sequences", name, "state (next_not_cached_value,min,max,start,increment,cache,cycle,cycles) src %v, dst %v", ss["x"], ds["x"])
		}
	}
	return nil
}

func (d *differ) views() error {
	src, dst, order, err := d.both(`SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, DEFINER, SECURITY_TYPE, ALGORITHM
		FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`)
	if err != nil {
		return err
	}
	for _, name := range d.compareSets("views", src, dst, order) {
		var n int64
		if err := d.dst.QueryRowContext(d.ctx, "SELECT COUNT(*) FROM "+QuoteIdent(d.dstDB)+"."+QuoteIdent(name)).Scan(&n); err != nil {
			d.add("views", name, "does not work in %s: %v", d.dstDB, err)
		}
	}
	return nil
}

func (d *differ) triggers() error {
	src, dst, order, err := d.both(`SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_STATEMENT,
		ACTION_TIMING, SQL_MODE, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`)
	if err != nil {
		return err
	}
	d.compareSets("triggers", src, dst, order)
	return nil
}

func (d *differ) routines() error {
	src, dst, order, err := d.both(`SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME), ROUTINE_DEFINITION, DTD_IDENTIFIER,
		IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER,
		(SELECT GROUP_CONCAT(CONCAT_WS(' ', PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER) ORDER BY ORDINAL_POSITION)
		 FROM information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.ROUTINE_NAME
		 AND p.ROUTINE_TYPE = r.ROUTINE_TYPE)
		FROM information_schema.ROUTINES r WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`)
	if err != nil {
		return err
	}
	d.compareSets("routines", src, dst, order)
	return nil
}

func (d *differ) events() error {
	src, dst, order, err := d.both(`SELECT EVENT_NAME, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD,
		STARTS, ENDS, STATUS, ON_COMPLETION, SQL_MODE, EVENT_COMMENT, DEFINER, TIME_ZONE
		FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`)
	if err != nil {
		return err
	}
	d.compareSets("events", src, dst, order)
	return nil
}
