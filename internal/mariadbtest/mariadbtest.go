// Package mariadbtest gives tests of the mariadb source (dumper, loader, CLI)
// connections to the two MariaDB servers of scripts/dev-services.sh, scratch
// databases, the torture fixture (testdata/mariadb/torture.sql), a row larger
// than max_allowed_packet, and a thorough comparison of two databases.
//
// Connections use time_zone '+00:00' so TIMESTAMP values read the same on both
// servers, and let the driver learn the server's max_allowed_packet, so large
// prepared-statement arguments go out as COM_STMT_SEND_LONG_DATA chunks.
package mariadbtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// configs remembers the configuration each *sql.DB of Open was made from, so
// helpers can open extra connections to the same server.
var configs sync.Map // *sql.DB → *mysql.Config

// Config returns the driver configuration for the "prod" or "dev" server from
// ZUULSTATE_TEST_MARIADB_{PROD,DEV}_ADDR, ZUULSTATE_TEST_MARIADB_USER and
// ZUULSTATE_TEST_MARIADB_PASSWORD (skipping the test, or failing it in CI,
// when they are not set).
func Config(t testing.TB, which string) *mysql.Config {
	t.Helper()
	if which != "prod" && which != "dev" {
		t.Fatalf("mariadbtest: unknown server %q (want prod or dev)", which)
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_"+strings.ToUpper(which)+"_ADDR")
	cfg.User = testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_USER")
	cfg.Passwd = testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_PASSWORD")
	cfg.MultiStatements = true
	cfg.MaxAllowedPacket = 0 // ask the server
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	cfg.Timeout = 10 * time.Second
	return cfg
}

// Open connects to the "prod" or "dev" server. The pool is closed at the end
// of the test.
func Open(t testing.TB, which string) *sql.DB {
	t.Helper()
	return openConfig(t, Config(t, which))
}

func openConfig(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("mariadbtest: %v", err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() {
		configs.Delete(db)
		db.Close()
	})
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("mariadbtest: connecting to %s: %v", cfg.Addr, err)
	}
	configs.Store(db, cfg.Clone())
	return db
}

// CreateDB creates an empty database named prefix_<random> and drops it when
// the test ends. It returns the name.
func CreateDB(t testing.TB, db *sql.DB, prefix string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s_%s", prefix, hex.EncodeToString(b[:]))
	Exec(t, db, "CREATE DATABASE "+QuoteIdent(name)+" CHARACTER SET utf8mb4")
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+QuoteIdent(name)); err != nil {
			t.Errorf("mariadbtest: dropping %s: %v", name, err)
		}
	})
	return name
}

// Exec runs one statement (or several: the pool allows multi-statements) and
// fails the test on error.
func Exec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("mariadbtest: %s: %v", abbrev(query), err)
	}
}

// Strings runs a query and returns its rows, columns joined by "|" (NULL
// as the empty string), failing the test on error.
func Strings(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("mariadbtest: %s: %v", abbrev(query), err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// QuoteIdent quotes a MariaDB identifier with backquotes.
func QuoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// TorturePath is the absolute path of testdata/mariadb/torture.sql.
func TorturePath(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("mariadbtest: cannot locate the source tree")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "mariadb", "torture.sql")
}

// LoadTorture runs testdata/mariadb/torture.sql in database name, which must
// be empty. Statements are split the way the mariadb client does for this
// file: a statement ends at a line ending with the current DELIMITER.
func LoadTorture(t testing.TB, db *sql.DB, name string) {
	t.Helper()
	stmts, err := SplitScript(TorturePath(t))
	if err != nil {
		t.Fatalf("mariadbtest: %v", err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The session's default database and character set are changed: do not
	// hand this connection back to the pool.
	defer func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "USE "+QuoteIdent(name)); err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("mariadbtest: torture.sql: %s: %v", abbrev(s), err)
		}
	}
}

// SplitScript reads an SQL script the way the mariadb client reads this
// repository's fixtures: lines starting with "--" and blank lines between
// statements are skipped, "DELIMITER x" changes the terminator, and a
// statement ends at a line whose end is the terminator. (It does not parse
// string literals: a fixture line inside a statement must not end with the
// terminator.)
func SplitScript(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	delim := ";"
	var stmts []string
	var cur strings.Builder
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 {
			if trimmed == "" || strings.HasPrefix(trimmed, "--") {
				continue
			}
			if d, ok := strings.CutPrefix(trimmed, "DELIMITER "); ok {
				delim = strings.TrimSpace(d)
				continue
			}
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " \t\r"), delim); ok {
			cur.WriteString(s)
			stmts = append(stmts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("%s: unterminated statement at the end: %s", path, abbrev(cur.String()))
	}
	return stmts, nil
}

// LargeBlobTable is the table InsertLargeBlob creates.
const LargeBlobTable = "big_blob"

// LargeBlobValue returns the deterministic content InsertLargeBlob stores:
// all 256 byte values repeated, with a counter every 4 KiB so chunks differ.
func LargeBlobValue(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i)
		if i%4096 < 4 {
			b[i] = byte(i >> (8 * (i % 4096)))
		}
	}
	return b
}

// InsertLargeBlob creates table big_blob (id INT PRIMARY KEY, b LONGBLOB) in
// database name if needed and inserts one row (id 1) whose b is
// LargeBlobValue(size), typically larger than the server's
// max_allowed_packet (16 MiB by default).
//
// The value goes through a prepared statement, which the driver sends in
// COM_STMT_SEND_LONG_DATA chunks. MariaDB still refuses a long-data
// parameter larger than max_allowed_packet, so when it does, the global
// max_allowed_packet is raised just for a fresh connection that inserts the
// row, and restored right after (sessions read the global value when they
// connect, so only that connection sees the larger limit; other clients
// connecting in that moment do too, which is harmless).
func InsertLargeBlob(t testing.TB, db *sql.DB, name string, size int) {
	t.Helper()
	ctx := context.Background()
	table := QuoteIdent(name) + "." + QuoteIdent(LargeBlobTable)
	Exec(t, db, "CREATE TABLE IF NOT EXISTS "+table+" (id INT NOT NULL PRIMARY KEY, b LONGBLOB NOT NULL) ENGINE=InnoDB")
	value := LargeBlobValue(size)
	insert := "INSERT INTO " + table + " (id, b) VALUES (1, ?)"
	_, err := db.ExecContext(ctx, insert, value)
	if err == nil {
		return
	}
	t.Logf("mariadbtest: inserting %d bytes through a prepared statement: %v; raising max_allowed_packet for one connection", size, err)
	c, ok := configs.Load(db)
	if !ok {
		t.Fatalf("mariadbtest: InsertLargeBlob needs a *sql.DB from Open: %v", err)
	}
	var old int64
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.max_allowed_packet").Scan(&old); err != nil {
		t.Fatal(err)
	}
	// Room for the value, its escaping and the packet header.
	want := (int64(size)*2 + 1<<20 + 1023) / 1024 * 1024
	if want <= old {
		t.Fatalf("mariadbtest: inserting %d bytes failed with max_allowed_packet %d: %v", size, old, err)
	}
	Exec(t, db, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", want))
	restore := func() {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", old)); err != nil {
			t.Errorf("mariadbtest: restoring max_allowed_packet: %v", err)
		}
	}
	defer restore()
	cfg := c.(*mysql.Config).Clone()
	cfg.MaxAllowedPacket = int(want)
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	big := sql.OpenDB(connector)
	defer big.Close()
	conn, err := big.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	restore() // the session has its limit now
	if _, err := conn.ExecContext(ctx, insert, value); err != nil {
		t.Fatalf("mariadbtest: inserting %d bytes with max_allowed_packet %d: %v", size, want, err)
	}
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
