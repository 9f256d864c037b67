package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"

	"github.com/zuulstate/zuulstate/sqlstream"
)

// showCreate runs SHOW CREATE <what> <name> and returns the row.
func showCreate(ctx context.Context, conn *sql.Conn, what, db, name string) (map[string]string, error) {
	q := "SHOW CREATE " + what + " " + sqlstream.QuoteIdent(db)
	if name != "" {
		q += "." + sqlstream.QuoteIdent(name)
	}
	rows, err := queryMaps(ctx, conn, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("%s: %d rows", q, len(rows))
	}
	return rows[0], nil
}

// createText picks the CREATE statement column of a SHOW CREATE row; it is
// empty when the user lacks the privilege to see it.
func createText(row map[string]string, col, what, name string) (string, error) {
	s := row[col]
	if s == "" {
		return "", fmt.Errorf("SHOW CREATE %s %s returned no definition (missing privilege?)", what, name)
	}
	return s, nil
}

// writeSchema writes the D.schema part: CREATE DATABASE, sequences (set to
// resume where they were), then every base table.
func writeSchema(ctx context.Context, conn *sql.Conn, d *dbInfo, part string, out io.Writer) error {
	w := sqlstream.NewWriter(out, partHeader(d.name, part))
	row, err := showCreate(ctx, conn, "DATABASE", d.name, "")
	if err != nil {
		return err
	}
	createDB, err := createText(row, "Create Database", "DATABASE", d.name)
	if err != nil {
		return err
	}
	createDB = strings.Replace(createDB, "CREATE DATABASE ", "CREATE DATABASE IF NOT EXISTS ", 1)
	stmts := []string{"/*!40101 SET NAMES utf8mb4 */", loadSession, createDB, "USE " + sqlstream.QuoteIdent(d.name)}
	for _, s := range stmts {
		if err := w.Statement(s); err != nil {
			return err
		}
	}
	for _, s := range d.sequences {
		row, err := showCreate(ctx, conn, "SEQUENCE", d.name, s)
		if err != nil {
			return err
		}
		text, err := createText(row, "Create Table", "SEQUENCE", s)
		if err != nil {
			return err
		}
		var next, cycles string
		q := "SELECT next_not_cached_value, cycle_count FROM " + sqlstream.QuoteIdent(d.name) + "." + sqlstream.QuoteIdent(s)
		if err := conn.QueryRowContext(ctx, q).Scan(&next, &cycles); err != nil {
			return fmt.Errorf("sequence %s: %w", s, err)
		}
		if err := w.Statement(text); err != nil {
			return err
		}
		if err := w.Statement(fmt.Sprintf("DO SETVAL(%s, %s, 0, %s)", sqlstream.QuoteIdent(s), next, cycles)); err != nil {
			return err
		}
	}
	for _, t := range d.tables {
		row, err := showCreate(ctx, conn, "TABLE", d.name, t.name)
		if err != nil {
			return err
		}
		text, err := createText(row, "Create Table", "TABLE", t.name)
		if err != nil {
			return err
		}
		if err := w.Statement(text); err != nil {
			return err
		}
	}
	return w.Close()
}
