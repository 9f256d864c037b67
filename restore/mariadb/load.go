package mariadb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// Server error numbers the loader handles.
const (
	errDBCreateExists      = 1007 // ER_DB_CREATE_EXISTS
	errWarnPacketOverflows = 1301 // ER_WARN_ALLOWED_PACKET_OVERFLOWED
	errLockDeadlock        = 1213 // ER_LOCK_DEADLOCK
)

// loadConn takes a connection from the pool and prepares its session for
// loading. release discards the connection, so that its session settings
// (no foreign key or unique checks, no binary log) never serve another
// query.
func (r *Restorer) loadConn(ctx context.Context, db *sql.DB) (*sql.Conn, func(), error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to mariadb at %s: %w", r.addr(), err)
	}
	release := func() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
		_ = c.Close()
	}
	for _, q := range []string{
		"SET NAMES binary",
		"SET SESSION foreign_key_checks=0, unique_checks=0, time_zone='+00:00'",
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			release()
			return nil, nil, fmt.Errorf("prepare session on %s: %s: %w", r.addr(), q, err)
		}
	}
	// Needs SUPER or BINLOG ADMIN; without it the load is written to the
	// binary log, which is slower but correct.
	if _, err := c.ExecContext(ctx, "SET SESSION sql_log_bin=0"); err != nil && ctx.Err() == nil {
		r.cfg.Log.Debug("binary logging stays on for the load", "addr", r.addr(), "err", err)
	}
	return c, release, nil
}

// loadPart executes every statement of the part it on connection c, each
// passed through rewrite first. The part's finish (its checksum check) must
// succeed too.
func (r *Restorer) loadPart(ctx context.Context, c *sql.Conn, it item, open restore.Opener, rewrite func(string) string) error {
	rd, finish, err := open(ctx, it.part)
	if err != nil {
		return fmt.Errorf("open part %s: %w", it.part.Name, err)
	}
	err = r.execStream(ctx, c, rd, rewrite)
	ferr := finish()
	if err != nil {
		return fmt.Errorf("part %s: %w", it.part.Name, err)
	}
	return ferr
}

func (r *Restorer) execStream(ctx context.Context, c *sql.Conn, rd io.Reader, rewrite func(string) string) error {
	sr := sqlstream.NewReader(rd)
	tx := &batch{c: c}
	inserts := 0
	for n := 1; ; n++ {
		stmt, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read statement %d: %w", n, err)
		}
		stmt = rewrite(stmt)
		if size := int64(len(stmt)) + 1; size > r.maxPacket {
			return fmt.Errorf("statement %d is %d bytes, more than max_allowed_packet (%d) of the target %s: "+
				"raise it (SET GLOBAL max_allowed_packet=%d, or max_allowed_packet in the server configuration) and restore again",
				n, size, r.maxPacket, r.addr(), roundUpMiB(size))
		}
		// The part's first INSERT runs alone: into an empty table it takes
		// InnoDB's bulk-insert path, which inside a longer transaction
		// would cover all of it (and cost the server twice the CPU).
		if isInsert(stmt) && inserts > 0 {
			if err := tx.add(ctx, stmt); err != nil {
				return fmt.Errorf("statement %d (%s): %w", n, snippet(stmt), err)
			}
			continue
		}
		if err := tx.commit(ctx); err != nil {
			return fmt.Errorf("before statement %d: %w", n, err)
		}
		if isInsert(stmt) {
			inserts++
		}
		if err := execRetry(ctx, c, stmt); err != nil {
			if isServerError(err, errDBCreateExists) && namesDatabase(stmt) {
				continue // the target exists and was found empty
			}
			return fmt.Errorf("statement %d (%s): %w", n, snippet(stmt), err)
		}
		if isUpdate(stmt) {
			if err := r.checkOverflow(ctx, c); err != nil {
				return fmt.Errorf("statement %d (%s): %w", n, snippet(stmt), err)
			}
		}
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("at the end of the part: %w", err)
	}
	return nil
}

// batchBytes bounds the INSERTs committed together. Each commit waits for
// the redo log to reach the disk (innodb_flush_log_at_trx_commit=1): one
// commit per statement cost 8% of a 1 GiB restore here. A few MiB per
// commit keep the undo log, and what a lost deadlock replays, small.
const batchBytes = 4 << 20

// batch is the open transaction of INSERTs on one connection.
type batch struct {
	c     *sql.Conn
	stmts []string
	size  int
}

// add executes stmt in the open transaction, starting one if needed, and
// commits once the transaction holds batchBytes. A lost deadlock rolls the
// whole transaction back, so it is replayed from its first statement.
func (b *batch) add(ctx context.Context, stmt string) error {
	b.stmts = append(b.stmts, stmt)
	b.size += len(stmt)
	replay := false
	err := retryDeadlock(ctx, func() error {
		if replay {
			return b.run(ctx, b.stmts, true)
		}
		replay = true
		return b.run(ctx, b.stmts[len(b.stmts)-1:], len(b.stmts) == 1)
	})
	if err != nil {
		return err
	}
	if b.size >= batchBytes {
		return b.commit(ctx)
	}
	return nil
}

// run executes stmts, after BEGIN when begin is set.
func (b *batch) run(ctx context.Context, stmts []string, begin bool) error {
	if begin {
		if _, err := b.c.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
	}
	for _, s := range stmts {
		if _, err := b.c.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// commit ends the open transaction, if any.
func (b *batch) commit(ctx context.Context) error {
	if len(b.stmts) == 0 {
		return nil
	}
	b.stmts, b.size = b.stmts[:0], 0
	if _, err := b.c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// deadlockAttempts bounds how often a statement or transaction that lost a
// deadlock is run.
const deadlockAttempts = 8

// execRetry executes stmt, again when an INSERT lost a deadlock. Chunks of
// one table load in parallel; the first INSERT into an empty table takes
// InnoDB's bulk-insert path, which locks the whole table, so a concurrent
// first INSERT can be chosen as the deadlock victim. The server rolled
// that statement back entirely.
func execRetry(ctx context.Context, c *sql.Conn, stmt string) error {
	exec := func() error {
		_, err := c.ExecContext(ctx, stmt)
		return err
	}
	if !isInsert(stmt) {
		return exec()
	}
	return retryDeadlock(ctx, exec)
}

// retryDeadlock runs fn, again (after a growing pause) while it loses a
// deadlock, at most deadlockAttempts times.
func retryDeadlock(ctx context.Context, fn func() error) error {
	for i := 1; ; i++ {
		err := fn()
		if err == nil || i == deadlockAttempts || !isServerError(err, errLockDeadlock) {
			return err
		}
		select {
		case <-time.After(time.Duration(i) * 10 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// checkOverflow fails when the last statement (an UPDATE … CONCAT piece of
// a large value) produced a value larger than max_allowed_packet: without a
// strict sql_mode the server stores NULL or an empty value with only a
// warning.
func (r *Restorer) checkOverflow(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return fmt.Errorf("read warnings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return fmt.Errorf("read warnings: %w", err)
		}
		if code == errWarnPacketOverflows {
			return fmt.Errorf("a value is larger than max_allowed_packet (%d) of the target %s: raise it "+
				"(SET GLOBAL max_allowed_packet, or in the server configuration) and restore again: %s",
				r.maxPacket, r.addr(), msg)
		}
	}
	return rows.Err()
}

func isInsert(stmt string) bool {
	return len(stmt) > 7 && strings.EqualFold(stmt[:7], "INSERT ")
}

func isUpdate(stmt string) bool {
	return len(stmt) > 7 && strings.EqualFold(stmt[:7], "UPDATE ")
}

func isServerError(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// snippet shortens a statement for an error message.
func snippet(stmt string) string {
	const max = 100
	if len(stmt) <= max {
		return stmt
	}
	return stmt[:max] + "…"
}

func roundUpMiB(n int64) int64 { return (n + 1<<20 - 1) &^ (1<<20 - 1) }
