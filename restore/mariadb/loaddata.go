package mariadb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/restore"
)

// loadData loads the data parts of one database on up to Workers
// connections, the largest table's chunks first, and builds each table's
// deferred indexes on the connection that loaded its last chunk, while the
// other connections go on loading. Tables without data parts get their
// indexes at the end. The first error cancels the others.
//
// Every INSERT commits on its own: InnoDB's bulk-insert mode (one
// transaction into an empty table) costs the server about three times the
// CPU here, and without it the chunks of one table load in parallel.
func (r *Restorer) loadData(ctx context.Context, db *sql.DB, target string, data []item, later map[string]*deferred,
	open restore.Opener, rewrite func(string) string) error {
	var (
		mu      sync.Mutex
		pending = map[string]int{} // chunks left per table
		jobs    = make(chan item)
	)
	tables := byTable(data, later)
	for _, t := range tables {
		pending[t[0].table] = len(t)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(jobs)
		for _, t := range tables {
			for _, it := range t {
				select {
				case jobs <- it:
				case <-gctx.Done():
					return nil
				}
			}
		}
		return nil
	})
	for range min(r.cfg.Workers, max(len(data), 1)) {
		g.Go(func() error {
			c, release, err := r.loadConn(gctx, db)
			if err != nil {
				return err
			}
			defer release()
			for it := range jobs {
				if err := r.loadPart(gctx, c, it, open, rewrite); err != nil {
					return err
				}
				mu.Lock()
				pending[it.table]--
				last := pending[it.table] == 0
				mu.Unlock()
				if d := later[it.table]; last && d != nil {
					if err := r.addIndexes(gctx, c, target, d); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("data load interrupted: %w", ctx.Err())
	}
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(later)) {
		if _, loaded := pending[name]; loaded {
			continue
		}
		if err := r.addIndexesOnce(ctx, db, target, later[name]); err != nil {
			return err
		}
	}
	return nil
}

// addIndexes builds the deferred secondary indexes of one table in one
// ALTER TABLE, which reads the table once and sorts each index.
func (r *Restorer) addIndexes(ctx context.Context, c *sql.Conn, target string, d *deferred) error {
	stmt := d.indexStatement(target)
	if stmt == "" {
		return nil
	}
	start := time.Now()
	if _, err := c.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("table %s: add indexes after load: %w", d.table, err)
	}
	r.cfg.Log.Debug("indexes built", "table", d.table, "indexes", len(d.indexes), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *Restorer) addIndexesOnce(ctx context.Context, db *sql.DB, target string, d *deferred) error {
	c, release, err := r.loadConn(ctx, db)
	if err != nil {
		return err
	}
	defer release()
	return r.addIndexes(ctx, c, target, d)
}

// addForeignKeys adds the deferred foreign keys once every table has its
// indexes. foreign_key_checks=0 on the load session makes this a change
// of metadata only; the rows were consistent when they were dumped.
func (r *Restorer) addForeignKeys(ctx context.Context, db *sql.DB, target string, later map[string]*deferred) error {
	var stmts []string
	for _, name := range slices.Sorted(maps.Keys(later)) {
		if s := later[name].foreignKeyStatement(target); s != "" {
			stmts = append(stmts, s)
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	c, release, err := r.loadConn(ctx, db)
	if err != nil {
		return err
	}
	defer release()
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("add foreign keys after load (%s): %w", snippet(s), err)
		}
	}
	return nil
}

// byTable groups data parts by table, chunks in order, the table that
// costs most first: its raw size, and half of it again for each index to
// build afterwards (zuul_build, with five indexes, then starts before the
// larger zuul_artifact with one, and its index build overlaps the other
// loads instead of running alone at the end).
func byTable(data []item, later map[string]*deferred) [][]item {
	var (
		out   [][]item
		index = map[string]int{}
	)
	for _, it := range data {
		i, ok := index[it.table]
		if !ok {
			i = len(out)
			index[it.table] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], it)
	}
	cost := func(t []item) (n int64) {
		for _, it := range t {
			n += it.part.RawSize
		}
		if d := later[t[0].table]; d != nil {
			n += n * int64(len(d.indexes)) / 2
		}
		return n
	}
	for _, t := range out {
		slices.SortStableFunc(t, func(a, b item) int { return cmp.Compare(chunk(a), chunk(b)) })
	}
	slices.SortStableFunc(out, func(a, b []item) int { return cmp.Compare(cost(b), cost(a)) })
	return out
}

// chunk is the chunk index of a data part, from its metadata or its name.
func chunk(it item) int {
	if it.data != nil {
		return it.data.Chunk
	}
	f := strings.Split(it.part.Name, ".")
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}
