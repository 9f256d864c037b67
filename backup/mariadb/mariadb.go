// Package mariadb is the backup source for MariaDB databases: a consistent,
// parallel logical dump over go-sql-driver/mysql into SQL stream parts
// (package sqlstream) that the stock mariadb client can load. The part
// layout and format are in docs/MARIADB.md.
package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// Snapshotter dumps the configured databases.
type Snapshotter struct {
	cfg Config
	log *slog.Logger
}

var _ backup.Snapshotter = (*Snapshotter)(nil)

// New returns a Snapshotter for cfg.
func New(cfg Config) *Snapshotter {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.ChunkRows <= 0 {
		cfg.ChunkRows = 500_000
	}
	if cfg.MaxStatement <= 0 || cfg.MaxStatement > 1<<20 {
		cfg.MaxStatement = 1 << 20
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Snapshotter{cfg: cfg, log: log}
}

// Source returns "mariadb".
func (s *Snapshotter) Source() string { return mariadbpart.SourceName }

type serverInfo struct {
	version       string
	maxPacket     int
	logBin        bool
	insertHistory bool
}

func readServerInfo(ctx context.Context, conn *sql.Conn) (serverInfo, error) {
	var si serverInfo
	var logBin int
	if err := conn.QueryRowContext(ctx, "SELECT VERSION(), @@max_allowed_packet, @@log_bin").Scan(&si.version, &si.maxPacket, &logBin); err != nil {
		return si, err
	}
	si.logBin = logBin == 1
	v, err := queryMaps(ctx, conn, "SHOW VARIABLES LIKE 'system_versioning_insert_history'")
	si.insertHistory = err == nil && len(v) == 1
	return si, err
}

// Snapshot dumps every configured database. Any error fails the whole
// snapshot and names the database and table.
func (s *Snapshotter) Snapshot(ctx context.Context, sink backup.PartSink) error {
	cfg := &s.cfg
	if len(cfg.Databases) == 0 {
		return backup.ErrEmptySource
	}
	db, err := cfg.openDB()
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	coord, err := cfg.openConn(ctx, db)
	if err != nil {
		return err
	}
	defer func() { _ = coord.Close() }()
	wrap := func(err error) error { return fmt.Errorf("mariadb %s: %w", cfg.server(), lostConnection(err)) }
	si, err := readServerInfo(ctx, coord)
	if err != nil {
		return wrap(err)
	}
	names, err := resolveDatabases(ctx, coord, cfg.Databases)
	if err != nil {
		return wrap(err)
	}
	if len(names) == 0 {
		return backup.ErrEmptySource
	}
	var dbs []*dbInfo
	var lockTables []string
	for _, n := range names {
		d, err := loadCatalog(ctx, coord, n, si.insertHistory)
		if err != nil {
			return wrap(fmt.Errorf("database %s: %w", n, err))
		}
		for _, t := range d.tables {
			if !t.transactional() {
				d.meta.NonTransactional = append(d.meta.NonTransactional, t.name)
				lockTables = append(lockTables, sqlstream.QuoteIdent(n)+"."+sqlstream.QuoteIdent(t.name))
			}
		}
		dbs = append(dbs, d)
	}
	if !cfg.LockNonTransactional {
		if len(lockTables) > 0 {
			s.log.Warn("non-transactional tables are dumped without a lock and may be inconsistent", "tables", strings.Join(lockTables, ", "))
		}
		lockTables = nil
	}
	sc, err := establish(ctx, cfg, db, coord, cfg.Workers, lockTables, si.logBin, s.log)
	if err != nil {
		return wrap(err)
	}
	defer sc.close()
	tasks, err := planTasks(ctx, coord, dbs, cfg.ChunkRows)
	if err != nil {
		return wrap(err)
	}
	limit := min(cfg.MaxStatement, si.maxPacket-4096)
	if err := runTasks(ctx, sc, tasks, limit, sink); err != nil {
		return wrap(err)
	}
	if err := sc.unlockNonTransactional(ctx); err != nil {
		return wrap(fmt.Errorf("unlock non-transactional tables: %w", err))
	}
	for _, d := range dbs {
		if err := s.writeDatabase(ctx, coord, d, si, sc, len(lockTables) > 0, sink); err != nil {
			return wrap(fmt.Errorf("database %s: %w", d.name, err))
		}
	}
	if cfg.WithGrants {
		err := sink.WritePart(ctx, mariadbpart.GrantsPartName, func(ctx context.Context, out io.Writer) (any, error) {
			return writeGrants(ctx, coord, names, out)
		})
		if err != nil {
			return wrap(fmt.Errorf("grants: %w", err))
		}
	}
	return nil
}

func (s *Snapshotter) writeDatabase(ctx context.Context, conn *sql.Conn, d *dbInfo, si serverInfo, sc *snapshotConns, locked bool, sink backup.PartSink) error {
	post := mariadbpart.PostPartName(d.name)
	err := sink.WritePart(ctx, post, func(ctx context.Context, out io.Writer) (any, error) {
		return writePost(ctx, conn, d, post, out)
	})
	if err != nil {
		return err
	}
	m := &d.meta
	m.Database, m.ServerVersion, m.LockMode, m.Binlog = d.name, si.version, sc.mode, sc.binlog
	m.Sequences = d.sequences
	m.NonTransactionalLocked = locked && len(m.NonTransactional) > 0
	m.Tables = []mariadbpart.TableMeta{}
	for _, t := range d.tables {
		m.Tables = append(m.Tables, mariadbpart.TableMeta{Name: t.name, Engine: t.engine, Rows: t.rows, Parts: t.parts,
			SystemVersioned: t.versioned, History: t.history})
		if t.alembic != "" {
			m.AlembicVersion = t.alembic
		}
		if t.versioned && !t.history {
			m.Warnings = append(m.Warnings, "table "+t.name+": system-versioning history not dumped (server lacks system_versioning_insert_history)")
		}
	}
	schema := mariadbpart.SchemaPartName(d.name)
	return sink.WritePart(ctx, schema, func(ctx context.Context, out io.Writer) (any, error) {
		return *m, writeSchema(ctx, conn, d, schema, out)
	})
}

// lostConnection puts the driver's "invalid connection" into words an
// operator can act on: it is what a stopped server or a KILLed dump
// connection looks like mid-query.
func lostConnection(err error) error {
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("%w (the connection to the server was lost: the server stopped or restarted, "+
			"or the dump connection was killed; check the server and run the backup again)", err)
	}
	return err
}
