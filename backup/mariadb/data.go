package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// loadSession is the session every part sets up on load.
const loadSession = "SET SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO', time_zone='+00:00', foreign_key_checks=0, unique_checks=0"

// largeValue is the encoded size above which a value of an oversized row
// is sent through a user variable in pieces.
const largeValue = 1024

// task is one data part: a table, or one primary key range of it.
type task struct {
	t        *tableInfo
	chunk    int
	chunks   int
	from, to *big.Int // [from, to); nil = open
	part     string
}

func (k *task) bounds(inline bool) (where string, args []any) {
	var conds []string
	pk := sqlstream.QuoteIdent(k.t.pk)
	cond := func(op string, v *big.Int) {
		if inline {
			conds = append(conds, pk+op+v.String())
			return
		}
		conds, args = append(conds, pk+op+"?"), append(args, bigArg(v))
	}
	if k.from != nil {
		cond(" >= ", k.from)
	}
	if k.to != nil {
		cond(" < ", k.to)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func bigArg(v *big.Int) any {
	if v.IsInt64() {
		return v.Int64()
	}
	return v.Uint64()
}

func bigString(v *big.Int) string {
	if v == nil {
		return ""
	}
	return v.String()
}

func partHeader(db, part string) string {
	return "zuulstate mariadb dump, format 1; database " + sqlstream.QuoteIdent(db) + ", part " + part
}

// dumpData streams one data part.
func dumpData(ctx context.Context, conn *sql.Conn, k *task, limit int, out io.Writer) (mariadbpart.DataMeta, error) {
	t := k.t
	meta := mariadbpart.DataMeta{Database: t.db, Table: t.name, Chunk: k.chunk, Chunks: k.chunks, History: t.history,
		From: bigString(k.from), To: bigString(k.to)}
	if k.chunks > 1 {
		meta.Key = t.pk
	}
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = sqlstream.QuoteIdent(c.name)
		meta.Columns = append(meta.Columns, c.name)
	}
	w := sqlstream.NewWriter(out, partHeader(t.db, k.part))
	head := []string{"/*!40101 SET NAMES binary */", loadSession, "USE " + sqlstream.QuoteIdent(t.db)}
	if t.history {
		head = append(head, "SET SESSION system_versioning_insert_history=1")
	}
	for _, s := range head {
		if err := w.Statement(s); err != nil {
			return meta, err
		}
	}
	if len(t.cols) == 0 {
		return meta, w.Close()
	}
	q := "SELECT " + strings.Join(names, ",") + " FROM " + sqlstream.QuoteIdent(t.db) + "." + sqlstream.QuoteIdent(t.name)
	if t.history {
		q += " FOR SYSTEM_TIME ALL"
	}
	prefix := "INSERT INTO " + sqlstream.QuoteIdent(t.name) + " (" + strings.Join(names, ",") + ") VALUES "
	vals := newRowValues(t.cols)
	// Rows are encoded straight into the statement they join, not into a
	// buffer of their own first: a copy less of every byte of the dump.
	stmtBuf := make([]byte, 0, limit+4096)
	breaks := newStatementBreaks(limit)
	flush := func() error {
		if len(stmtBuf) == 0 {
			return nil
		}
		err := w.StatementBytes(stmtBuf)
		stmtBuf = stmtBuf[:0]
		return err
	}
	err := eachRow(ctx, conn, k, q, vals, func() error {
		meta.Rows++
		end := len(stmtBuf) // the statement without this row
		if end == 0 {
			stmtBuf = append(stmtBuf, prefix...)
		} else {
			stmtBuf = append(stmtBuf, ',')
		}
		start := len(stmtBuf)
		var err error
		if stmtBuf, err = appendTuple(stmtBuf, vals, nil); err != nil {
			return err
		}
		n := len(stmtBuf) - start
		switch {
		case len(prefix)+n > limit:
			stmtBuf = stmtBuf[:end]
			if err := flush(); err != nil {
				return err
			}
			return writeLargeRow(w, vals, prefix, limit)
		case len(stmtBuf) > limit:
			// The row does not fit after the rows before it: they end
			// their statement, and the row starts the next one, after
			// the same prefix.
			if err := w.StatementBytes(stmtBuf[:end]); err != nil {
				return err
			}
			stmtBuf = stmtBuf[:len(prefix)+copy(stmtBuf[len(prefix):], stmtBuf[start:])]
		}
		if breaks.after(stmtBuf[len(stmtBuf)-n:], len(stmtBuf)) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return meta, err
	}
	if err := flush(); err != nil {
		return meta, err
	}
	return meta, w.Close()
}

// statementBreaks ends INSERT statements where the rows' own bytes say,
// not after a count of bytes from the part's first row: then a row added,
// changed or deleted moves the statement boundaries only up to the next
// content-chosen one, and the rest of the dump stays byte for byte what it
// was, which is what lets a deduplicating repository store only the
// chunks around the change. A row ends a statement with a probability
// proportional to its length, so statements average target bytes whatever
// the table's row size; statements below minimum bytes run on, and the
// hard limit still applies.
type statementBreaks struct {
	target, minimum int
}

func newStatementBreaks(limit int) statementBreaks {
	return statementBreaks{target: max(limit/4, 1), minimum: limit / 64}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// after reports whether the statement, stmtLen bytes long with tuple as
// its last row, ends here.
func (b statementBreaks) after(tuple []byte, stmtLen int) bool {
	if stmtLen < b.minimum {
		return false
	}
	// P(break) = len(tuple)/target: the hash is uniform over 32 bits.
	return uint64(crc32.Checksum(tuple, castagnoli)) < uint64(len(tuple))<<32/uint64(b.target)
}

// appendTuple appends "(v1,v2,…)"; columns present in vars are written as
// their expression instead of their value.
func appendTuple(dst []byte, vals *rowValues, vars map[int]string) ([]byte, error) {
	dst = append(dst, '(')
	for i := range vals.cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		if e, ok := vars[i]; ok {
			dst = append(dst, e...)
			continue
		}
		var err error
		if dst, err = vals.appendValue(dst, i); err != nil {
			return nil, err
		}
	}
	return append(dst, ')'), nil
}

// writeLargeRow writes a row too large for one statement: every large
// value is built up in a user variable (@zs_vN) by SET statements of
// hex pieces within the limit, then one INSERT uses the variables.
func writeLargeRow(w *sqlstream.Writer, vals *rowValues, prefix string, limit int) error {
	vars := map[int]string{}
	piece := (limit - 64) / 2
	var buf []byte
	for i := range vals.cols {
		if vals.isNull(i) {
			continue
		}
		enc, err := vals.appendValue(buf[:0], i)
		if err != nil {
			return err
		}
		if len(enc) <= largeValue {
			continue
		}
		v := "@zs_v" + strconv.Itoa(i)
		raw, expr, ok := vals.payload(i, v)
		if !ok {
			continue
		}
		for off := 0; off == 0 || off < len(raw); off += piece {
			chunk := raw[off:min(off+piece, len(raw))]
			buf = append(buf[:0], "SET "+v+" = "...)
			if off == 0 {
				buf = sqlstream.AppendHex(buf, chunk)
			} else {
				buf = append(buf, "CONCAT("+v+","...)
				buf = append(sqlstream.AppendHex(buf, chunk), ')')
			}
			if err := w.StatementBytes(buf); err != nil {
				return err
			}
		}
		vars[i] = expr
	}
	tuple, err := appendTuple(append(buf[:0], prefix...), vals, vars)
	if err != nil {
		return err
	}
	if len(tuple) > limit {
		return fmt.Errorf("row needs a %d-byte statement even with its large values split (limit %d)", len(tuple), limit)
	}
	if err := w.StatementBytes(tuple); err != nil {
		return err
	}
	if len(vars) == 0 {
		return nil
	}
	var reset []string
	for i := range vals.cols {
		if _, ok := vars[i]; ok {
			reset = append(reset, "@zs_v"+strconv.Itoa(i)+" = NULL")
		}
	}
	return w.Statement("SET " + strings.Join(reset, ", "))
}
