package mariadb

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// memSink collects parts in memory (fine for small tests).
type memSink struct {
	mu    sync.Mutex
	parts map[string][]byte
	meta  map[string]json.RawMessage
}

func (s *memSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	var buf bytes.Buffer
	meta, err := produce(ctx, &buf)
	if err != nil {
		return err
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts == nil {
		s.parts, s.meta = map[string][]byte{}, map[string]json.RawMessage{}
	}
	if _, dup := s.parts[name]; dup {
		return &os.PathError{Op: "write part", Path: name, Err: os.ErrExist}
	}
	s.parts[name], s.meta[name] = buf.Bytes(), mj
	return nil
}

type server struct {
	addr, user, password string
	db                   *sql.DB
}

func testServers(t *testing.T) (prod, dev *server) {
	t.Helper()
	user := testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_USER")
	pw := testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_PASSWORD")
	mk := func(env string) *server {
		s := &server{addr: testenv.Lookup(t, env), user: user, password: pw}
		mc := mysql.NewConfig()
		mc.User, mc.Passwd, mc.Net, mc.Addr = user, pw, "tcp", s.addr
		mc.MultiStatements = true
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			t.Fatal(err)
		}
		s.db = sql.OpenDB(conn)
		t.Cleanup(func() { _ = s.db.Close() })
		return s
	}
	return mk("ZUULSTATE_TEST_MARIADB_PROD_ADDR"), mk("ZUULSTATE_TEST_MARIADB_DEV_ADDR")
}

func (s *server) config(dbs ...string) Config {
	return Config{Addr: s.addr, User: s.user, Password: s.password, Databases: dbs}
}

func (s *server) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s on %s: %v", q, s.addr, err)
		}
	}
}

// tempDB returns a unique database name, dropped on both servers at the end.
func tempDB(t *testing.T, servers ...*server) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "zs_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		for _, s := range servers {
			_, _ = s.db.ExecContext(context.WithoutCancel(t.Context()), "DROP DATABASE IF EXISTS "+name)
		}
	})
	return name
}

// loadStock feeds one part to the stock mariadb client, the password in
// MYSQL_PWD, never in argv.
func (s *server) loadStock(t *testing.T, part []byte) {
	t.Helper()
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "mariadb", "-h"+host, "-P"+port, "-u"+s.user)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+s.password)
	cmd.Stdin = bytes.NewReader(part)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb client: %v\n%s\npart starts: %.300s", err, out.String(), part)
	}
}

// loadAll loads the parts in the documented order with the stock client.
func (s *server) loadAll(t *testing.T, sink *memSink, dbs ...string) {
	t.Helper()
	for _, d := range dbs {
		s.loadStock(t, sink.parts[mariadbpart.SchemaPartName(d)])
		var m mariadbpart.DatabaseMeta
		if err := json.Unmarshal(sink.meta[mariadbpart.SchemaPartName(d)], &m); err != nil {
			t.Fatal(err)
		}
		for _, tm := range m.Tables {
			for _, p := range tm.Parts {
				if sink.parts[p] == nil {
					t.Fatalf("part %s listed but not written", p)
				}
				s.loadStock(t, sink.parts[p])
			}
		}
		s.loadStock(t, sink.parts[mariadbpart.PostPartName(d)])
	}
}

func (s *server) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	return mariadbtest.Strings(t, s.db, q, args...)
}
