package mariadb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// planTasks makes one task per table, or per primary key range for tables
// with a single integer key and more than chunkRows estimated rows. The
// bounds need not match the snapshot: the first and last ranges are open.
// The largest tasks, by the table's size on disk (row counts mislead when
// row sizes differ tenfold), go first so the workers finish together.
func planTasks(ctx context.Context, conn *sql.Conn, dbs []*dbInfo, chunkRows int64) ([]*task, error) {
	var tasks []*task
	for _, d := range dbs {
		for _, t := range d.tables {
			bounds, err := chunkBounds(ctx, conn, t, chunkRows)
			if err != nil {
				return nil, fmt.Errorf("database %s table %s: %w", t.db, t.name, err)
			}
			n := len(bounds) + 1
			for i := range n {
				k := &task{t: t, chunk: i, chunks: n, part: mariadbpart.DataPartName(t.db, t.name, i)}
				if i > 0 {
					k.from = bounds[i-1]
				}
				if i < n-1 {
					k.to = bounds[i]
				}
				t.parts = append(t.parts, k.part)
				tasks = append(tasks, k)
			}
		}
	}
	slices.SortStableFunc(tasks, func(a, b *task) int {
		return cmp.Compare(b.t.estBytes/int64(b.chunks), a.t.estBytes/int64(a.chunks))
	})
	return tasks, nil
}

// chunkBounds returns the inner boundaries of the table's key ranges:
// the multiples of a power of two, the key width that holds about
// chunkRows rows. Bounds derived from MIN and MAX would all move as rows
// are appended, and every range's dump with them; these stay put from
// night to night (until the table's density halves or doubles), so in a
// deduplicating repository only the ranges whose rows changed cost
// anything.
func chunkBounds(ctx context.Context, conn *sql.Conn, t *tableInfo, chunkRows int64) ([]*big.Int, error) {
	if t.pk == "" || t.estRows <= chunkRows {
		return nil, nil
	}
	var lo, hi sql.NullString
	q := "SELECT MIN(" + sqlstream.QuoteIdent(t.pk) + "), MAX(" + sqlstream.QuoteIdent(t.pk) + ") FROM " +
		sqlstream.QuoteIdent(t.db) + "." + sqlstream.QuoteIdent(t.name)
	if err := conn.QueryRowContext(ctx, q).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	if !lo.Valid || !hi.Valid {
		return nil, nil
	}
	minV, ok1 := new(big.Int).SetString(lo.String, 10)
	maxV, ok2 := new(big.Int).SetString(hi.String, 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("primary key range %q..%q is not integer", lo.String, hi.String)
	}
	return alignedBounds(minV, maxV, t.estRows, chunkRows), nil
}

// alignedBounds splits [minV, maxV] at the multiples of the smallest
// power of two not below (span × chunkRows / estRows).
func alignedBounds(minV, maxV *big.Int, estRows, chunkRows int64) []*big.Int {
	span := new(big.Int).Sub(maxV, minV)
	span.Add(span, big.NewInt(1))
	width := new(big.Int).Mul(span, big.NewInt(chunkRows))
	width.Quo(width, big.NewInt(estRows))
	if width.Sign() <= 0 {
		width.SetInt64(1)
	}
	step := new(big.Int).Lsh(big.NewInt(1), uint(new(big.Int).Sub(width, big.NewInt(1)).BitLen()))
	if step.Cmp(span) >= 0 {
		return nil
	}
	// Div rounds towards minus infinity for a positive divisor, so negative
	// keys get the same grid.
	b := new(big.Int).Div(minV, step)
	b.Add(b, big.NewInt(1)).Mul(b, step)
	var out []*big.Int
	for ; b.Cmp(maxV) <= 0; b = new(big.Int).Add(b, step) {
		out = append(out, b)
	}
	return out
}

// runTasks dumps the tasks on the worker connections, each task one part.
func runTasks(ctx context.Context, sc *snapshotConns, tasks []*task, limit int, sink backup.PartSink) error {
	g, ctx := errgroup.WithContext(ctx)
	ch := make(chan *task)
	var mu sync.Mutex
	for _, conn := range sc.workers {
		g.Go(func() error {
			for k := range ch {
				if err := runTask(ctx, conn, k, limit, sink, &mu); err != nil {
					return fmt.Errorf("database %s table %s: %w", k.t.db, k.t.name, err)
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(ch)
		for _, k := range tasks {
			select {
			case ch <- k:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

func runTask(ctx context.Context, conn *sql.Conn, k *task, limit int, sink backup.PartSink, mu *sync.Mutex) error {
	if k.chunk == 0 && strings.HasSuffix(k.t.name, "alembic_version") {
		q := "SELECT version_num FROM " + sqlstream.QuoteIdent(k.t.db) + "." + sqlstream.QuoteIdent(k.t.name) + " ORDER BY 1"
		if heads, err := queryStrings(ctx, conn, q); err == nil {
			mu.Lock()
			k.t.alembic = strings.Join(heads, ",")
			mu.Unlock()
		}
	}
	var rows int64
	err := sink.WritePart(ctx, k.part, func(ctx context.Context, out io.Writer) (any, error) {
		m, err := dumpData(ctx, conn, k, limit, out)
		rows = m.Rows
		return m, err
	})
	if err != nil {
		return err
	}
	mu.Lock()
	k.t.rows += rows
	mu.Unlock()
	return nil
}
