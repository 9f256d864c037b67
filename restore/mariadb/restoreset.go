package mariadb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// RestoreSet loads parts: for each database its schema, then its data parts
// in parallel, then its post part; then the grants part (WithGrants). It
// then compares the row counts with the manifest, prints them to Out, and
// fails on any mismatch.
func (r *Restorer) RestoreSet(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
	sets, grants, err := group(parts)
	if err != nil {
		return err
	}
	db, err := r.conn(ctx)
	if err != nil {
		return err
	}
	ren := newRenamer(r.cfg.DBMap)
	var counts []tableCount
	for _, s := range sets {
		if err := r.restoreDB(ctx, db, s, open, ren); err != nil {
			return fmt.Errorf("database %s: %w", s.name, err)
		}
		c, err := r.countRows(ctx, db, s)
		if err != nil {
			return fmt.Errorf("database %s: %w", s.name, err)
		}
		counts = append(counts, c...)
	}
	if grants != nil {
		if !r.cfg.WithGrants {
			r.cfg.Log.Info("grants part not loaded (with_grants is off)", "part", grants.part.Name)
		} else if err := r.loadOne(ctx, db, *grants, open, ren.rewriteAll); err != nil {
			return err
		}
	}
	return r.report(counts)
}

// restoreDB loads the selected parts of one database.
func (r *Restorer) restoreDB(ctx context.Context, db *sql.DB, s *dbSet, open restore.Opener, ren renamer) error {
	target := r.target(s.name)
	log := r.cfg.Log.With("database", s.name, "target", target)
	if s.schema != nil {
		if err := r.prepareTarget(ctx, db, target); err != nil {
			return err
		}
		start := time.Now()
		if err := r.loadOne(ctx, db, *s.schema, open, ren.rewriteAll); err != nil {
			return err
		}
		log.Info("schema loaded", "duration", time.Since(start).Round(time.Millisecond))
	}
	if len(s.data) > 0 {
		start := time.Now()
		if err := r.loadData(ctx, db, s.data, open, ren.rewriteUse); err != nil {
			return err
		}
		log.Info("data loaded", "parts", len(s.data), "workers", min(r.cfg.Workers, len(s.data)),
			"duration", time.Since(start).Round(time.Millisecond))
	}
	if s.post != nil {
		if err := r.loadOne(ctx, db, *s.post, open, ren.rewriteAll); err != nil {
			return err
		}
		log.Info("views, triggers, routines and events loaded")
	}
	return nil
}

// prepareTarget drops the target database with Force, or refuses it when
// it is not empty (Check said so already, unless something changed since).
func (r *Restorer) prepareTarget(ctx context.Context, db *sql.DB, target string) error {
	if !r.cfg.Force {
		n, err := objectCount(ctx, db, target)
		if err != nil {
			return fmt.Errorf("check database %s on %s: %w", target, r.addr(), err)
		}
		if n > 0 {
			return fmt.Errorf("%w: database %s on %s is not empty (use --force to drop it first, or --db-map)",
				restore.ErrTargetNotEmpty, target, r.addr())
		}
		return nil
	}
	var exists int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", target).Scan(&exists)
	if err != nil {
		return fmt.Errorf("check database %s on %s: %w", target, r.addr(), err)
	}
	if exists == 0 {
		return nil
	}
	r.cfg.Log.Warn(fmt.Sprintf("dropping database %s on %s", target, r.addr()), "database", target, "addr", r.addr())
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqlstream.QuoteIdent(target)); err != nil {
		return fmt.Errorf("drop database %s on %s: %w", target, r.addr(), err)
	}
	return nil
}

// loadOne loads one part on a connection of its own, statements in order.
func (r *Restorer) loadOne(ctx context.Context, db *sql.DB, it item, open restore.Opener, rewrite func(string) string) error {
	c, release, err := r.loadConn(ctx, db)
	if err != nil {
		return err
	}
	defer release()
	return r.loadPart(ctx, c, it, open, rewrite)
}

// loadData loads data parts, one table at a time per connection on up to
// Workers connections, the largest tables first. The first error cancels
// the others.
//
// A table's parts are loaded in order in one transaction: into an empty
// table with unique_checks=0 and foreign_key_checks=0, InnoDB then loads
// in bulk (MariaDB 10.6+: no per-row undo, indexes built by sorting at
// commit). Chunks of one table loaded in parallel would deadlock in that
// mode, and without it are slower.
func (r *Restorer) loadData(ctx context.Context, db *sql.DB, data []item, open restore.Opener, rewrite func(string) string) error {
	tables := byTable(data)
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan []item)
	g.Go(func() error {
		defer close(jobs)
		for _, t := range tables {
			select {
			case jobs <- t:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	for range min(r.cfg.Workers, len(tables)) {
		g.Go(func() error {
			c, release, err := r.loadConn(gctx, db)
			if err != nil {
				return err
			}
			defer release()
			for t := range jobs {
				if err := r.loadTable(gctx, c, t, open, rewrite); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("data load interrupted: %w", ctx.Err())
	}
	return err
}

// loadTable loads the parts of one table in one transaction.
func (r *Restorer) loadTable(ctx context.Context, c *sql.Conn, parts []item, open restore.Opener, rewrite func(string) string) error {
	start := time.Now()
	if _, err := c.ExecContext(ctx, "START TRANSACTION"); err != nil {
		return fmt.Errorf("table %s: start transaction: %w", parts[0].table, err)
	}
	var size int64
	for _, it := range parts {
		if err := r.loadPart(ctx, c, it, open, rewrite); err != nil {
			return err
		}
		size += it.part.RawSize
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("table %s: commit: %w", parts[0].table, err)
	}
	r.cfg.Log.Debug("table loaded", "table", parts[0].table, "parts", len(parts), "raw_bytes", size,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// byTable groups data parts by table, chunks in order, largest table first.
func byTable(data []item) [][]item {
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
	size := func(t []item) (n int64) {
		for _, it := range t {
			n += it.part.RawSize
		}
		return n
	}
	for _, t := range out {
		slices.SortStableFunc(t, func(a, b item) int { return cmp.Compare(chunk(a), chunk(b)) })
	}
	slices.SortStableFunc(out, func(a, b []item) int { return cmp.Compare(size(b), size(a)) })
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
