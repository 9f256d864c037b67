package mariadb

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// devConfig returns a Config for the dev instance of the test services.
func devConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		Addr:     testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_DEV_ADDR"),
		User:     testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_USER"),
		Password: testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_PASSWORD"),
		Workers:  2,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// adminDB opens a plain connection to the dev instance for setup and checks.
func adminDB(t *testing.T, cfg Config) *sql.DB {
	t.Helper()
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr = cfg.User, cfg.Password, "tcp", cfg.Addr
	c, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// dbName returns a database name unique to this test run and drops the
// database at the end.
func dbName(t *testing.T, db *sql.DB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := prefix + "_" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), ""))
	if len(name) > 40 {
		name = name[:40]
	}
	name += "_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.WithoutCancel(t.Context()), "DROP DATABASE IF EXISTS "+sqlstream.QuoteIdent(name)); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

// stream frames statements as a part of docs/MARIADB.md. A schema part
// starts with CREATE DATABASE before its USE.
func stream(database, part string, stmts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- zuulstate mariadb dump, format 1; database %s, part %s\nDELIMITER ;;\n", sqlstream.QuoteIdent(database), part)
	b.WriteString("/*!40101 SET NAMES binary */;;\n")
	b.WriteString("SET SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES', time_zone='+00:00', foreign_key_checks=0, unique_checks=0;;\n")
	if strings.HasSuffix(part, ".schema") {
		fmt.Fprintf(&b, "CREATE DATABASE %s /*!40100 DEFAULT CHARACTER SET utf8mb4 */;;\n", sqlstream.QuoteIdent(database))
	}
	fmt.Fprintf(&b, "USE %s;;\n", sqlstream.QuoteIdent(database))
	for _, s := range stmts {
		b.WriteString(s + ";;\n")
	}
	b.WriteString("DELIMITER ;\n")
	return b.String()
}

// fakeParts holds part streams in memory and opens them.
type fakeParts struct {
	mu      sync.Mutex
	parts   []snapshot.Part
	streams map[string]string
	failing map[string]error // finish errors by part name
	opened  map[string]int
}

func newFakeParts() *fakeParts {
	return &fakeParts{streams: map[string]string{}, failing: map[string]error{}, opened: map[string]int{}}
}

// add records a part with its stream and metadata.
func (f *fakeParts) add(name, content string, meta any) {
	m, err := json.Marshal(meta)
	if err != nil {
		panic(err)
	}
	f.parts = append(f.parts, snapshot.Part{Source: mariadbpart.SourceName, Name: name, RawSize: int64(len(content)), Meta: m})
	f.streams[name] = content
}

func (f *fakeParts) open(_ context.Context, p snapshot.Part) (io.Reader, func() error, error) {
	s, ok := f.streams[p.Name]
	if !ok {
		return nil, nil, fmt.Errorf("no part %s", p.Name)
	}
	f.mu.Lock()
	f.opened[p.Name]++
	f.mu.Unlock()
	r := bytes.NewReader([]byte(s))
	return r, func() error {
		if r.Len() != 0 {
			return fmt.Errorf("part %s: %d bytes not read", p.Name, r.Len())
		}
		return f.failing[p.Name]
	}, nil
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
