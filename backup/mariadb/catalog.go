package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

var systemDatabases = []string{"mysql", "information_schema", "performance_schema", "sys"}

type dbInfo struct {
	name      string
	tables    []*tableInfo // base and system-versioned tables, by name
	sequences []string
	meta      mariadbpart.DatabaseMeta
}

type tableInfo struct {
	db, name  string
	engine    string
	versioned bool
	history   bool // dump FOR SYSTEM_TIME ALL with row start/end
	estRows   int64
	estBytes  int64 // DATA_LENGTH: what orders the tasks
	cols      []column
	pk        string // single integer primary key column, or ""
	pkSigned  bool
	rows      int64 // counted while dumping
	alembic   string
	parts     []string
}

func (t *tableInfo) transactional() bool {
	return strings.EqualFold(t.engine, "InnoDB") || t.engine == ""
}

// resolveDatabases expands "all" and checks that every named database
// exists, so a typo fails before anything is written.
func resolveDatabases(ctx context.Context, conn *sql.Conn, want []string) ([]string, error) {
	have, err := queryStrings(ctx, conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	if len(want) == 1 && want[0] == "all" {
		var out []string
		for _, d := range have {
			if !slices.Contains(systemDatabases, d) {
				out = append(out, d)
			}
		}
		return out, nil
	}
	for _, d := range want {
		if !slices.Contains(have, d) {
			return nil, fmt.Errorf("database %q does not exist (or is not visible to this user)", d)
		}
	}
	return want, nil
}

// loadCatalog reads the tables, sequences and columns of one database.
func loadCatalog(ctx context.Context, conn *sql.Conn, name string, insertHistory bool) (*dbInfo, error) {
	d := &dbInfo{name: name}
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE,''), IFNULL(TABLE_ROWS,0), IFNULL(DATA_LENGTH,0)
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, name)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tableInfo{}
	for rows.Next() {
		var tn, typ, engine string
		var est, size int64
		if err := rows.Scan(&tn, &typ, &engine, &est, &size); err != nil {
			_ = rows.Close()
			return nil, err
		}
		switch typ {
		case "SEQUENCE":
			d.sequences = append(d.sequences, tn)
		case "BASE TABLE", "SYSTEM VERSIONED":
			t := &tableInfo{db: name, name: tn, engine: engine, estRows: est, estBytes: size, versioned: typ == "SYSTEM VERSIONED"}
			t.history = t.versioned && insertHistory
			d.tables = append(d.tables, t)
			byName[tn] = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_ = rows.Close()
	if err := loadColumns(ctx, conn, name, byName); err != nil {
		return nil, err
	}
	if err := loadKeys(ctx, conn, name, byName); err != nil {
		return nil, err
	}
	return d, nil
}

func loadColumns(ctx context.Context, conn *sql.Conn, db string, byName map[string]*tableInfo) error {
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_GENERATED,
		IFNULL(GENERATION_EXPRESSION,'') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?
		ORDER BY TABLE_NAME, ORDINAL_POSITION`, db)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var tn, cn, dt, gen, expr string
		if err := rows.Scan(&tn, &cn, &dt, &gen, &expr); err != nil {
			return err
		}
		t := byName[tn]
		if t == nil {
			continue
		}
		period := expr == "ROW START" || expr == "ROW END"
		if gen == "ALWAYS" && (!period || !t.history) {
			continue // generated columns are computed again on load
		}
		c := newColumn(cn, dt)
		c.period = period
		t.cols = append(t.cols, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Implicit system versioning: hidden ROW_START/ROW_END pseudo columns.
	for _, t := range byName {
		if t.history && !slices.ContainsFunc(t.cols, func(c column) bool { return c.period }) {
			t.cols = append(t.cols, column{name: "ROW_START", kind: kindString, period: true},
				column{name: "ROW_END", kind: kindString, period: true})
		}
	}
	return nil
}

// loadKeys finds tables with a single-column integer primary key, which
// can be split into ranges.
func loadKeys(ctx context.Context, conn *sql.Conn, db string, byName map[string]*tableInfo) error {
	rows, err := conn.QueryContext(ctx, `SELECT s.TABLE_NAME, MIN(s.COLUMN_NAME), COUNT(*), MIN(c.DATA_TYPE), MIN(c.COLUMN_TYPE)
		FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.INDEX_NAME = 'PRIMARY' GROUP BY s.TABLE_NAME`, db)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var tn, cn, dt, ct string
		var n int
		if err := rows.Scan(&tn, &cn, &n, &dt, &ct); err != nil {
			return err
		}
		if t := byName[tn]; t != nil && n == 1 && isIntType(dt) {
			t.pk, t.pkSigned = cn, !strings.Contains(ct, "unsigned")
		}
	}
	return rows.Err()
}

func isIntType(dt string) bool {
	switch dt {
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		return true
	}
	return false
}
