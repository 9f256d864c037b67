package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/storage/local"
)

// observedSource passes every part a Snapshotter finishes to written, so a
// test can act in the middle of a dump.
type observedSource struct {
	backup.Snapshotter
	written chan string
}

func (o observedSource) Snapshot(ctx context.Context, sink backup.PartSink) error {
	return o.Snapshotter.Snapshot(ctx, observedSink{sink, o.written})
}

type observedSink struct {
	backup.PartSink
	written chan string
}

func (s observedSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	err := s.PartSink.WritePart(ctx, name, produce)
	if err == nil {
		select {
		case s.written <- name:
		default:
		}
	}
	return err
}

// heldSource stalls every part's stream once it has passed 1 MiB, until
// release is closed: the dump's workers stop reading rows, so a SELECT whose
// result is larger than what the sockets buffer stays in the server's
// process list however fast the dump would otherwise be.
type heldSource struct {
	backup.Snapshotter
	release chan struct{}
}

func newHeldSource(src backup.Snapshotter) *heldSource {
	return &heldSource{Snapshotter: src, release: make(chan struct{})}
}

func (h *heldSource) Snapshot(ctx context.Context, sink backup.PartSink) error {
	return h.Snapshotter.Snapshot(ctx, heldSink{sink, h})
}

type heldSink struct {
	backup.PartSink
	h *heldSource
}

func (s heldSink) WritePart(ctx context.Context, name string, produce repository.Produce) error {
	return s.PartSink.WritePart(ctx, name, func(ctx context.Context, out io.Writer) (any, error) {
		return produce(ctx, &heldWriter{Writer: out, h: s.h, ctx: ctx})
	})
}

type heldWriter struct {
	io.Writer
	h   *heldSource
	ctx context.Context
	n   int
}

func (w *heldWriter) Write(p []byte) (int, error) {
	if w.n >= 1<<20 {
		select {
		case <-w.h.release:
		case <-w.ctx.Done():
			return 0, context.Cause(w.ctx)
		}
	}
	w.n += len(p)
	return w.Writer.Write(p)
}

// localRepo returns an unencrypted repository in a fresh directory.
func localRepo(t *testing.T) (*repository.Repository, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repository.New(st, repository.Options{}), dir
}

// fillTable creates table name (id BIGINT primary key, a 200-byte pad) in
// database db with rows rows, ANALYZEd so the dump splits it by key range.
// The rows stay out of the binary log (one multi-statement round trip, so
// the session setting does not leak to other users of the pool).
func fillTable(t *testing.T, db *sql.DB, database, name string, rows int) {
	t.Helper()
	q := mariadbtest.QuoteIdent(database)
	mariadbtest.Exec(t, db, "CREATE TABLE "+q+"."+name+" (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL, pad VARCHAR(255) NOT NULL) ENGINE=InnoDB")
	mariadbtest.Exec(t, db, fmt.Sprintf("SET SESSION sql_log_bin = 0; INSERT INTO %s.%s SELECT seq, seq %% 1000, CONCAT(seq, ':', REPEAT(MD5(seq), 6)) FROM %s.seq_1_to_%d; SET SESSION sql_log_bin = 1",
		q, name, q, rows))
	mariadbtest.Exec(t, db, "ANALYZE TABLE "+q+"."+name)
}

// assertNoSnapshot checks that a failed backup left nothing behind: no
// manifest, no part, no lock.
func assertNoSnapshot(t *testing.T, repo *repository.Repository, dir string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if ids, err := repo.IDs(ctx); err != nil || len(ids) != 0 {
		t.Errorf("repository lists snapshots %v (%v) after a failed backup", ids, err)
	}
	if locks, err := repo.Locks(ctx); err != nil || len(locks) != 0 {
		t.Errorf("locks left after a failed backup: %v (%v)", locks, err)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("a failed backup left objects in the repository: %v", files)
	}
}

// runObserved starts backup.Run of src into repo and returns the channel
// of finished part names and the channel that receives Run's error.
func runObserved(t *testing.T, repo *repository.Repository, src backup.Snapshotter) (<-chan string, <-chan error) {
	t.Helper()
	written := make(chan string, 1000)
	done := make(chan error, 1)
	go func() {
		_, err := backup.Run(t.Context(), repo, []backup.Snapshotter{observedSource{src, written}}, backup.Options{})
		done <- err
	}()
	return written, done
}

// waitDataParts waits until n data parts are written and fails the test if
// the backup ends first: the dump must still be running when the test
// strikes.
func waitDataParts(t *testing.T, written <-chan string, done <-chan error, n int) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for seen := 0; seen < n; {
		select {
		case p := <-written:
			if strings.Contains(p, ".data") {
				seen++
			}
		case err := <-done:
			t.Fatalf("backup ended (%v) before %d data parts were written: make the table larger", err, n)
		case <-timeout:
			t.Fatalf("no %d data parts after 60s", n)
		}
	}
}

// waitFailed waits for the backup's error and checks that it names the
// mariadb source and server.
func waitFailed(t *testing.T, done <-chan error, server string) error {
	t.Helper()
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("backup still running 60s after the failure")
	}
	t.Logf("backup failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	var se *backup.SourceError
	if err == nil {
		t.Fatal("backup succeeded")
	}
	if !errors.As(err, &se) || se.Source != mariadbpart.SourceName {
		t.Errorf("error does not name the mariadb source: %v", err)
	}
	if !strings.Contains(err.Error(), "source mariadb") || !strings.Contains(err.Error(), server) {
		t.Errorf("error should say source mariadb and name %s: %v", server, err)
	}
	return err
}

// TestServerKilledMidDump kills (SIGKILL) a throwaway server while a
// parallel, chunked dump is streaming from it: the backup fails naming the
// mariadb source, writes no manifest, deletes the parts already stored and
// releases the repository lock.
func TestServerKilledMidDump(t *testing.T) {
	srv := mariadbtest.StartServer(t)
	db := srv.Open(t)
	// Not mariadbtest.CreateDB: its cleanup would find the server gone.
	name := "zs_killed"
	mariadbtest.Exec(t, db, "CREATE DATABASE "+name)
	fillTable(t, db, name, "a", 100_000)
	fillTable(t, db, name, "b", 100_000)

	repo, dir := localRepo(t)
	snap := New(Config{Addr: srv.Addr, User: srv.User, Password: srv.Password, Databases: []string{name},
		Workers: 2, ChunkRows: 10_000})
	written, done := runObserved(t, repo, snap)
	waitDataParts(t, written, done, 2)
	srv.Kill()
	t.Log("server killed")
	err := waitFailed(t, done, srv.User+"@"+srv.Addr)
	if strings.Contains(err.Error(), srv.Password) {
		t.Errorf("error contains the password: %v", err)
	}
	assertNoSnapshot(t, repo, dir)
}

// TestDumpConnectionKilled kills one worker connection of a running dump
// (KILL <id>, as an operator or a watchdog would) on the shared prod
// server: the backup fails cleanly, leaves no snapshot and closes its other
// connections.
func TestDumpConnectionKilled(t *testing.T) {
	prod := mariadbtest.Open(t, "prod")
	name := mariadbtest.CreateDB(t, prod, "zs_kill_conn")
	fillTable(t, prod, name, "a", 100_000)
	fillTable(t, prod, name, "b", 100_000)
	// A user of its own tells the dump's connections from everyone else's
	// on the shared server.
	dumper, pw := name, "kill-conn-pw-"+name
	mariadbtest.Exec(t, prod, "CREATE USER "+dumper+"@'%' IDENTIFIED BY '"+pw+"'")
	// A concurrent backup --with-grants of prod may copy the account to
	// dev: drop it on both.
	dev := mariadbtest.Open(t, "dev")
	for _, db := range []*sql.DB{prod, dev} {
		t.Cleanup(func() {
			if _, err := db.ExecContext(context.WithoutCancel(t.Context()), "DROP USER IF EXISTS "+dumper+"@'%'"); err != nil {
				t.Errorf("drop user %s: %v", dumper, err)
			}
		})
	}
	mariadbtest.Exec(t, prod, "GRANT ALL PRIVILEGES ON *.* TO "+dumper+"@'%'")
	dumpConns := func() []int64 {
		t.Helper()
		rows, err := prod.QueryContext(t.Context(), "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID", dumper)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}

	addr := mariadbtest.Config(t, "prod").Addr
	repo, dir := localRepo(t)
	// One SELECT per table, 22 MB each: more than the sockets buffer.
	held := newHeldSource(New(Config{Addr: addr, User: dumper, Password: pw, Databases: []string{name}, Workers: 2, ChunkRows: 1_000_000}))
	_, done := runObserved(t, repo, held)

	// A worker held in the middle of a chunk shows its SELECT in the
	// process list.
	var id int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := prod.QueryRowContext(t.Context(), `SELECT ID FROM information_schema.PROCESSLIST
			WHERE USER = ? AND COMMAND = 'Query' AND INFO LIKE 'SELECT %' LIMIT 1`, dumper).Scan(&id)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("backup ended (%v) before a dump query was seen: make the tables larger", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no dump query in the process list after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("dump connections %v; killing %d", dumpConns(), id)
	mariadbtest.Exec(t, prod, fmt.Sprintf("KILL CONNECTION %d", id))
	close(held.release)
	waitFailed(t, done, dumper+"@"+addr)
	assertNoSnapshot(t, repo, dir)

	// None of the dump's connections is left open, holding a snapshot
	// transaction on the server.
	deadline = time.Now().Add(30 * time.Second)
	for ids := dumpConns(); len(ids) > 0; ids = dumpConns() {
		if time.Now().After(deadline) {
			t.Fatalf("connections %v of the failed dump still open after 30s", ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
