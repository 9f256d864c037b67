package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// scriptedDriver records every statement executed and fails the ones its
// fail function picks: fault injection for what a real server does only
// under a rare race (a lost deadlock).
type scriptedDriver struct {
	mu   sync.Mutex
	log  []string
	fail func(n int, stmt string) error
}

func (d *scriptedDriver) Open(string) (driver.Conn, error) { return scriptedConn{d}, nil }

type scriptedConn struct{ d *scriptedDriver }

func (c scriptedConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (c scriptedConn) Close() error                        { return nil }
func (c scriptedConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

func (c scriptedConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.log = append(c.d.log, q)
	if err := c.d.fail(len(c.d.log), q); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func scriptedConnection(t *testing.T, d *scriptedDriver) *sql.Conn {
	name := "scripted-" + t.Name()
	sql.Register(name, d)
	db, err := sql.Open(name, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBatchReplaysALostDeadlock: InnoDB rolls a deadlock victim's whole
// transaction back, so the batch runs it again from BEGIN, and commits
// once it holds batchBytes.
func TestBatchReplaysALostDeadlock(t *testing.T) {
	deadlocked := false
	d := &scriptedDriver{fail: func(_ int, stmt string) error {
		if stmt == "INSERT 2" && !deadlocked {
			deadlocked = true
			return &mysql.MySQLError{Number: errLockDeadlock, Message: "Deadlock found"}
		}
		return nil
	}}
	b := &batch{c: scriptedConnection(t, d)}
	ctx := context.Background()
	for _, s := range []string{"INSERT 1", "INSERT 2", "INSERT 3"} {
		if err := b.add(ctx, s); err != nil {
			t.Fatalf("add %s: %v", s, err)
		}
	}
	if err := b.commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"BEGIN", "INSERT 1", "INSERT 2", "BEGIN", "INSERT 1", "INSERT 2", "INSERT 3", "COMMIT"}
	if !slices.Equal(d.log, want) {
		t.Fatalf("executed %q, want %q", d.log, want)
	}

	d.log = nil
	big := string(make([]byte, batchBytes))
	for _, s := range []string{"INSERT 4", "INSERT " + big, "INSERT 5"} {
		if err := b.add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.commit(ctx); err != nil {
		t.Fatal(err)
	}
	want = []string{"BEGIN", "INSERT 4", "INSERT " + big, "COMMIT", "BEGIN", "INSERT 5", "COMMIT"}
	if !slices.Equal(d.log, want) {
		t.Fatalf("a batch past %d bytes did not commit right after its statement: %d statements executed, want %d", batchBytes, len(d.log), len(want))
	}
}

// TestBatchGivesUpOnOtherErrors: an error that is not a deadlock is
// returned at once, not replayed.
func TestBatchGivesUpOnOtherErrors(t *testing.T) {
	d := &scriptedDriver{fail: func(_ int, stmt string) error {
		if stmt == "INSERT bad" {
			return &mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}
		}
		return nil
	}}
	b := &batch{c: scriptedConnection(t, d)}
	err := b.add(context.Background(), "INSERT bad")
	if !isServerError(err, 1062) {
		t.Fatalf("err = %v, want the duplicate-key error", err)
	}
	if want := []string{"BEGIN", "INSERT bad"}; !slices.Equal(d.log, want) {
		t.Fatalf("executed %q, want %q", d.log, want)
	}
}

// TestExecStreamBatchesAfterTheFirstInsert: a part's first INSERT commits
// alone (bulk-insert path into an empty table), the following ones share
// transactions, and any other statement ends the open one first.
func TestExecStreamBatchesAfterTheFirstInsert(t *testing.T) {
	d := &scriptedDriver{fail: func(int, string) error { return nil }}
	c := scriptedConnection(t, d)
	r := New(Config{Addr: "127.0.0.1:1"})
	r.maxPacket = 1 << 30
	stream := "-- test\nDELIMITER ;;\nUSE `d`;;\nINSERT INTO t VALUES (1);;\nINSERT INTO t VALUES (2);;\n" +
		"INSERT INTO t VALUES (3);;\nALTER TABLE t ADD KEY k (a);;\nINSERT INTO t VALUES (4);;\nDELIMITER ;\n"
	if err := r.execStream(context.Background(), c, strings.NewReader(stream), func(s string) string { return s }); err != nil {
		t.Fatal(err)
	}
	want := []string{"USE `d`", "INSERT INTO t VALUES (1)", "BEGIN", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)",
		"COMMIT", "ALTER TABLE t ADD KEY k (a)", "BEGIN", "INSERT INTO t VALUES (4)", "COMMIT"}
	if !slices.Equal(d.log, want) {
		t.Fatalf("executed\n%q\nwant\n%q", d.log, want)
	}
}
