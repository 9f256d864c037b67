package mariadb

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Config says which server to dump and how.
type Config struct {
	Addr     string // host:port; used when Socket is empty
	Socket   string // unix socket path
	User     string
	Password string      // already resolved by the caller; never logged
	TLS      *tls.Config // nil = plain connection
	// Databases to dump, or ["all"] for every database except mysql,
	// information_schema, performance_schema and sys.
	Databases []string
	Workers   int   // parallel connections; default runtime.NumCPU()
	ChunkRows int64 // split tables with an integer primary key into ranges of about this many rows; default 500000
	// LockNonTransactional holds LOCK TABLES … READ on MyISAM/Aria (any
	// non-InnoDB) tables from the consistency point until the data is
	// dumped; otherwise they are only reported.
	LockNonTransactional bool
	WithGrants           bool // add the grants part
	// MaxStatement caps the size of one INSERT; default and upper bound
	// 1 MiB, lowered to the source's max_allowed_packet minus a margin.
	MaxStatement int
	Log          *slog.Logger // progress and warnings; nil = discard
}

// server returns "user@addr" for error messages (never the password).
func (c *Config) server() string {
	if c.Socket != "" {
		return c.User + "@unix(" + c.Socket + ")"
	}
	return c.User + "@" + c.Addr
}

// lockWaitTimeout bounds how long the coordinator waits for BACKUP STAGE or
// FLUSH TABLES WITH READ LOCK, during which the server's writers queue.
const lockWaitTimeout = 10

// dumpSession is run on every connection: raw bytes, UTC, standard SHOW
// CREATE output, and long network timeouts because a slow sink stalls reads.
var dumpSession = []string{
	"SET NAMES binary",
	"SET SESSION time_zone='+00:00', sql_mode='', net_write_timeout=3600, net_read_timeout=3600, wait_timeout=86400",
}

func (c *Config) openDB() (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.User = c.User
	mc.Passwd = c.Password
	if c.Socket != "" {
		mc.Net, mc.Addr = "unix", c.Socket
	} else {
		mc.Net, mc.Addr = "tcp", c.Addr
	}
	if c.TLS != nil {
		mc.TLS = c.TLS.Clone()
	}
	mc.InterpolateParams = false
	mc.ParseTime = false
	mc.Timeout = 30 * time.Second
	mc.DialFunc = dialBuffered
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("mariadb %s: %w", c.server(), err)
	}
	return sql.OpenDB(conn), nil
}

// openConn returns a dedicated connection with the dump session settings.
func (c *Config) openConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("mariadb %s: connect: %w", c.server(), err)
	}
	for _, q := range dumpSession {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("mariadb %s: %s: %w", c.server(), q, err)
		}
	}
	return conn, nil
}

// queryStrings runs q and returns the first column of every row.
func queryStrings(ctx context.Context, conn *sql.Conn, q string, args ...any) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s.String)
	}
	return out, rows.Err()
}

// queryMaps runs q and returns each row as column name → value (NULL as
// ""), for SHOW statements whose column sets vary between versions.
func queryMaps(ctx context.Context, conn *sql.Conn, q string, args ...any) ([]map[string]string, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			m[c] = vals[i].String
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
