package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// Restore loads parts: for each database its schema, then its data parts
// in parallel, then its post part; then the grants part (WithGrants). It
// then compares the row counts with the manifest, prints them to Out, and
// fails on any mismatch.
func (r *Restorer) Restore(ctx context.Context, parts []snapshot.Part, open restore.Opener) error {
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
		r.addResults(s.name, c)
	}
	if grants != nil {
		if !r.cfg.WithGrants {
			r.cfg.Log.Info("grants part not loaded (with_grants is off)", "part", grants.part.Name)
		} else if err := r.loadGrants(ctx, db, *grants, open, ren); err != nil {
			return err
		}
	}
	return r.report(counts)
}

// restoreDB loads the selected parts of one database.
func (r *Restorer) restoreDB(ctx context.Context, db *sql.DB, s *dbSet, open restore.Opener, ren renamer) error {
	target := r.target(s.name)
	log := r.cfg.Log.With("database", s.name, "target", target)
	later := map[string]*deferred{} // by source table name
	if s.schema != nil {
		if err := r.prepareTarget(ctx, db, target); err != nil {
			return err
		}
		start := time.Now()
		if err := r.loadOne(ctx, db, *s.schema, open, deferIndexes(ren.rewriteAll, later)); err != nil {
			return err
		}
		log.Info("schema loaded", "duration", time.Since(start).Round(time.Millisecond), "tables_with_deferred_indexes", len(later))
	}
	start := time.Now()
	if err := r.loadData(ctx, db, target, s.data, later, open, ren.rewriteUse); err != nil {
		return err
	}
	if err := r.addForeignKeys(ctx, db, target, later); err != nil {
		return err
	}
	if len(s.data) > 0 || len(later) > 0 {
		log.Info("data loaded and indexed", "parts", len(s.data), "workers", min(r.cfg.Workers, max(len(s.data), 1)),
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

// deferIndexes wraps rewrite so that CREATE TABLE statements lose their
// secondary indexes and foreign keys, which are recorded in later.
func deferIndexes(rewrite func(string) string, later map[string]*deferred) func(string) string {
	return func(stmt string) string {
		stmt = rewrite(stmt)
		create, d, ok := splitCreate(stmt)
		if !ok {
			return stmt
		}
		later[d.table] = &d
		return create
	}
}
