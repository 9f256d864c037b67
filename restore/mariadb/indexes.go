package mariadb

import (
	"strings"

	"github.com/zuulstate/zuulstate/sqlstream"
)

// deferred holds what splitCreate took out of one CREATE TABLE: its
// secondary indexes, added once the table's rows are in, and its foreign
// keys, added once every table has its indexes.
type deferred struct {
	table       string // source table name
	indexes     []string
	foreignKeys []string
}

// indexStatement adds the deferred indexes of the table in database db;
// empty when there are none.
func (d deferred) indexStatement(db string) string {
	return alterAdd(db, d.table, d.indexes)
}

// foreignKeyStatement adds the deferred foreign keys; empty when none.
func (d deferred) foreignKeyStatement(db string) string {
	return alterAdd(db, d.table, d.foreignKeys)
}

func alterAdd(db, table string, defs []string) string {
	if len(defs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("ALTER TABLE " + sqlstream.QuoteIdent(db) + "." + sqlstream.QuoteIdent(table))
	for i, d := range defs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" ADD " + d)
	}
	return b.String()
}

// splitCreate takes the secondary indexes and foreign keys out of a CREATE
// TABLE statement as SHOW CREATE TABLE prints it (one definition per line,
// indented by two spaces). Loading rows into a table that has only its
// primary key and building each secondary index afterwards by sorting costs
// the server less than half the CPU of maintaining the indexes row by row,
// and InnoDB's bulk-insert mode for empty tables costs even more (measured
// on zuul_build: BENCHMARKS.md).
//
// ok is false, and the statement must be used as it is, unless the table is
// a plain InnoDB table with a primary key whose first column holds any
// AUTO_INCREMENT: a key-less or partitioned or system-versioned table, or
// one whose AUTO_INCREMENT column needs a secondary key, keeps its indexes.
func splitCreate(stmt string) (create string, d deferred, ok bool) {
	lines := strings.Split(stmt, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "CREATE TABLE `") || !strings.HasSuffix(lines[0], "` (") {
		return "", d, false
	}
	tail := lines[len(lines)-1]
	if !strings.HasPrefix(tail, ") ENGINE=InnoDB") || strings.Contains(tail, "WITH SYSTEM VERSIONING") ||
		strings.Contains(tail, "PARTITION") {
		return "", d, false
	}
	_, name := scanIdent(lines[0], len("CREATE TABLE "))
	if name == "" {
		return "", d, false
	}
	d.table = name
	kept := []string{lines[0]}
	var autoInc, pkFirst string
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		def := strings.TrimSuffix(l, ",")
		if i < len(body)-1 && def == l {
			return "", d, false // not one definition per line
		}
		switch {
		case strings.HasPrefix(def, "  `"):
			if strings.Contains(def, " AUTO_INCREMENT") {
				_, autoInc = scanIdent(def, 2)
			}
		case strings.HasPrefix(def, "  PRIMARY KEY ("):
			_, pkFirst = scanIdent(def, len("  PRIMARY KEY ("))
		case strings.HasPrefix(def, "  KEY "), strings.HasPrefix(def, "  UNIQUE KEY "),
			strings.HasPrefix(def, "  FULLTEXT KEY "), strings.HasPrefix(def, "  SPATIAL KEY "):
			d.indexes = append(d.indexes, strings.TrimSpace(def))
			continue
		case strings.HasPrefix(def, "  CONSTRAINT ") && strings.Contains(def, " FOREIGN KEY ("):
			d.foreignKeys = append(d.foreignKeys, strings.TrimSpace(def))
			continue
		}
		kept = append(kept, def)
	}
	if pkFirst == "" || (autoInc != "" && autoInc != pkFirst) || len(d.indexes)+len(d.foreignKeys) == 0 {
		return "", deferred{}, false
	}
	for i := 1; i < len(kept)-1; i++ {
		kept[i] += ","
	}
	return strings.Join(kept, "\n") + "\n" + tail, d, true
}
