package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
)

// eachRow runs the SELECT of one data part and calls fn with every row
// loaded into vals; the values alias the driver's buffer until fn returns.
//
// A table with FLOAT or DOUBLE columns is read through a prepared
// statement, so that those arrive through the binary protocol as
// float32/float64: their text form is rounded (the stock mariadb-dump loses
// precision this way). Every other table is read through the text
// protocol, whose values are the literals already; that costs the server
// and zuulstate less (about a tenth of a dump's CPU on Zuul's tables).
func eachRow(ctx context.Context, conn *sql.Conn, k *task, q string, vals *rowValues, fn func() error) error {
	binary := slices.ContainsFunc(k.t.cols, func(c column) bool { return c.kind == kindFloat32 || c.kind == kindFloat64 })
	where, args := k.bounds(!binary)
	if binary {
		return eachRowPrepared(ctx, conn, q+where, args, vals, fn)
	}
	// The text rows are read from the driver itself, not through
	// database/sql: its Next and Scan (locks, and converting every value
	// into the destination's type and, for integers, back to text) cost
	// about 5% of the dump's CPU for nothing a dump needs (BENCHMARKS.md).
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("the MySQL driver's connection (%T) cannot run a query directly", dc)
		}
		rows, err := qc.QueryContext(ctx, q+where, nil)
		if err != nil {
			return err
		}
		// Closing after an error drains what is left of the result, as
		// database/sql does; after a cancellation the driver has closed
		// the connection already, so it ends at once.
		defer func() { _ = rows.Close() }()
		if n := len(rows.Columns()); n != len(vals.cols) {
			return fmt.Errorf("the SELECT returned %d columns, the catalog lists %d", n, len(vals.cols))
		}
		dv := make([]driver.Value, len(vals.cols))
		for {
			if err := rows.Next(dv); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := vals.load(dv); err != nil {
				return err
			}
			if err := fn(); err != nil {
				return err
			}
		}
	})
}

func eachRowPrepared(ctx context.Context, conn *sql.Conn, q string, args []any, vals *rowValues, fn func() error) error {
	stmt, err := conn.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer func() { _ = stmt.Close() }()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	dest := vals.scanDest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
