// Package mariadb restores the parts of the mariadb source (see
// docs/MARIADB.md) into a MariaDB server over go-sql-driver/mysql: per
// database the schema part on one connection, then the data parts in
// parallel on a pool of connections, then the post part (views, triggers,
// routines, events), then optionally the grants. Databases can be renamed on
// the way (DBMap); after loading, every table's row count is compared with
// the one recorded in the manifest.
package mariadb

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// Config says where and how to restore.
type Config struct {
	// Addr is host:port; Socket, when set, is used instead.
	Addr, Socket   string
	User, Password string
	TLS            *tls.Config
	// DBMap renames databases: source name -> target name. Names not in
	// the map are restored under their own name.
	DBMap map[string]string
	// Force drops a target database that exists and is not empty instead
	// of refusing to restore into it.
	Force bool
	// Workers is the number of connections loading data parts in
	// parallel; 0 means one more than runtime.NumCPU(): a load waits on
	// the server's disk (redo log, page flushes) and a table's index build
	// runs on one connection, so one more connection than cores keeps the
	// server busy (a 1 GiB restore on 2 CPUs: 3 connections 4-15% faster
	// than 2, 4 slower again).
	Workers int
	// WithGrants also loads the grants part when it is selected.
	WithGrants bool
	Log        *slog.Logger
	// Out receives the human summary (row counts per table).
	Out io.Writer
}

// Restorer loads mariadb parts. It keeps one connection pool, opened on
// first use; call Close when done.
type Restorer struct {
	cfg Config

	mu        sync.Mutex
	db        *sql.DB
	maxPacket int64
	results   []restore.Result
}

var (
	_ restore.Restorer = (*Restorer)(nil)
	_ restore.Reporter = (*Restorer)(nil)
	_ restore.Planner  = (*Restorer)(nil)
)

// New returns a Restorer for cfg.
func New(cfg Config) *Restorer {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU() + 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	return &Restorer{cfg: cfg}
}

// Source returns "mariadb".
func (r *Restorer) Source() string { return mariadbpart.SourceName }

// Close releases the connection pool.
func (r *Restorer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db == nil {
		return nil
	}
	err := r.db.Close()
	r.db = nil
	return err
}

// addr names the server in messages.
func (r *Restorer) addr() string {
	if r.cfg.Socket != "" {
		return "unix:" + r.cfg.Socket
	}
	return r.cfg.Addr
}

// target returns the database name that source database db is restored as.
func (r *Restorer) target(db string) string {
	if t, ok := r.cfg.DBMap[db]; ok && t != "" {
		return t
	}
	return db
}

// conn returns the connection pool, opening and checking it on first use.
// Errors name the server and the user, never the password.
func (r *Restorer) conn(ctx context.Context) (*sql.DB, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db != nil {
		return r.db, nil
	}
	mc := mysql.NewConfig()
	mc.User, mc.Passwd = r.cfg.User, r.cfg.Password
	mc.Net, mc.Addr = "tcp", r.cfg.Addr
	if r.cfg.Socket != "" {
		mc.Net, mc.Addr = "unix", r.cfg.Socket
	}
	mc.TLS = r.cfg.TLS
	mc.Timeout = 10 * time.Second
	mc.Logger = &mysql.NopLogger{}
	// Statement sizes are checked against the server's limit below, with
	// a message that says what to do.
	mc.MaxAllowedPacket = 1 << 30
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("mariadb %s as %s: %w", r.addr(), r.cfg.User, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(r.cfg.Workers + 1)
	var maxPacket int64
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.max_allowed_packet").Scan(&maxPacket); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to mariadb at %s as user %q: %w", r.addr(), r.cfg.User, err)
	}
	r.db, r.maxPacket = db, maxPacket
	return db, nil
}

// Check connects and, for a schema part, refuses a target database that
// exists and is not empty unless Force. It changes nothing.
func (r *Restorer) Check(ctx context.Context, p snapshot.Part) error {
	db, err := r.conn(ctx)
	if err != nil {
		return err
	}
	it, err := classify(p)
	if err != nil {
		return err
	}
	if it.kind != kindSchema || r.cfg.Force {
		return nil
	}
	target := r.target(it.db)
	n, err := objectCount(ctx, db, target)
	if err != nil {
		return fmt.Errorf("check database %s on %s: %w", target, r.addr(), err)
	}
	if n > 0 {
		return fmt.Errorf("%w: database %s on %s holds %d tables, views, routines or events "+
			"(use --force to drop it first, or --db-map %s=NEW_NAME to restore under another name)",
			restore.ErrTargetNotEmpty, target, r.addr(), n, it.db)
	}
	return nil
}

// objectCount counts the tables, views, sequences, routines and events of
// database name; 0 when it does not exist.
func objectCount(ctx context.Context, db *sql.DB, name string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) +
		(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)`,
		name, name, name).Scan(&n)
	return n, err
}
