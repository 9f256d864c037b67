package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// snapshotConns are the connections that share one point in time.
type snapshotConns struct {
	mode    string
	workers []*sql.Conn // each inside START TRANSACTION WITH CONSISTENT SNAPSHOT
	locker  *sql.Conn   // holds LOCK TABLES … READ on non-transactional tables, or nil
	binlog  *mariadbpart.BinlogPos
}

func (sc *snapshotConns) close() {
	for _, c := range sc.workers {
		_ = c.Close()
	}
	if sc.locker != nil {
		_ = sc.locker.Close()
	}
}

// unlockNonTransactional releases the non-transactional tables once their
// data is dumped.
func (sc *snapshotConns) unlockNonTransactional(ctx context.Context) error {
	if sc.locker == nil {
		return nil
	}
	_, err := sc.locker.ExecContext(ctx, "UNLOCK TABLES")
	_ = sc.locker.Close()
	sc.locker = nil
	return err
}

// establish opens n worker connections whose transactions share one point
// in time. The coordinator blocks commits (BACKUP STAGE BLOCK_COMMIT, or
// FLUSH TABLES WITH READ LOCK) while the workers start their consistent
// snapshots; without the privileges for either, one worker with one
// consistent-snapshot transaction is used. lockTables, when not empty, are
// locked READ by a separate connection inside the same window.
func establish(ctx context.Context, cfg *Config, db *sql.DB, coord *sql.Conn, n int, lockTables []string, logBin bool, log *slog.Logger) (_ *snapshotConns, err error) {
	sc := &snapshotConns{}
	defer func() {
		if err != nil {
			sc.close()
		}
	}()
	for range n {
		c, err := cfg.openConn(ctx, db)
		if err != nil {
			return nil, err
		}
		sc.workers = append(sc.workers, c)
	}
	if len(lockTables) > 0 {
		if sc.locker, err = cfg.openConn(ctx, db); err != nil {
			return nil, err
		}
	}
	if _, err := coord.ExecContext(ctx, "SET SESSION lock_wait_timeout="+strconv.Itoa(lockWaitTimeout)); err != nil {
		return nil, err
	}
	start := time.Now()
	unlock, mode, lockErr := blockCommits(ctx, coord)
	if lockErr != nil {
		log.Warn("cannot block commits (BACKUP STAGE and FLUSH TABLES WITH READ LOCK refused); dumping with one connection", "error", lockErr)
		for _, c := range sc.workers[1:] {
			_ = c.Close()
		}
		sc.workers = sc.workers[:1]
	}
	sc.mode = mode
	err = startSnapshots(ctx, sc, coord, lockTables, logBin)
	if unlock != "" {
		if _, uerr := coord.ExecContext(ctx, unlock); uerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", unlock, uerr))
		}
	}
	if err != nil {
		return nil, err
	}
	log.Info("consistent snapshot started", "lock_mode", sc.mode, "workers", len(sc.workers),
		"blocked", time.Since(start).Round(time.Microsecond))
	if sc.binlog != nil && sc.binlog.GTID == "" {
		log.Warn("the snapshot's GTID position is unknown (the server returned none); the binlog file and position are recorded",
			"binlog_file", sc.binlog.File, "binlog_position", sc.binlog.Position)
	}
	return sc, nil
}

// blockCommits returns the statement that releases the block and the lock
// mode used.
func blockCommits(ctx context.Context, coord *sql.Conn) (unlock, mode string, err error) {
	_, err1 := coord.ExecContext(ctx, "BACKUP STAGE START")
	if err1 == nil {
		if _, err1 = coord.ExecContext(ctx, "BACKUP STAGE BLOCK_COMMIT"); err1 == nil {
			return "BACKUP STAGE END", mariadbpart.LockBackupStage, nil
		}
		if _, err := coord.ExecContext(ctx, "BACKUP STAGE END"); err != nil {
			return "", "", fmt.Errorf("BACKUP STAGE END: %w", err)
		}
	}
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	_, err2 := coord.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK")
	if err2 == nil {
		return "UNLOCK TABLES", mariadbpart.LockFTWRL, nil
	}
	return "", mariadbpart.LockSingleTransaction, fmt.Errorf("BACKUP STAGE: %w; FLUSH TABLES WITH READ LOCK: %w", err1, err2)
}

func startSnapshots(ctx context.Context, sc *snapshotConns, coord *sql.Conn, lockTables []string, logBin bool) error {
	if sc.locker != nil {
		q := "LOCK TABLES " + strings.Join(lockTables, " READ, ") + " READ"
		if _, err := sc.locker.ExecContext(ctx, "SET SESSION lock_wait_timeout="+strconv.Itoa(lockWaitTimeout)); err != nil {
			return err
		}
		if _, err := sc.locker.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("lock non-transactional tables: %w", err)
		}
	}
	for _, c := range sc.workers {
		for _, q := range []string{
			"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
			"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
	}
	if !logBin {
		return nil
	}
	// The binlog position that matches the snapshot, as MariaDB reports it
	// for a consistent-snapshot transaction, valid in every lock mode.
	st, err := queryMaps(ctx, sc.workers[0], "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return fmt.Errorf("binlog position: %w", err)
	}
	pos := &mariadbpart.BinlogPos{}
	for _, r := range st {
		switch r["Variable_name"] {
		case "Binlog_snapshot_file":
			pos.File = r["Value"]
		case "Binlog_snapshot_position":
			pos.Position, _ = strconv.ParseUint(r["Value"], 10, 64)
		}
	}
	if pos.File == "" {
		return nil
	}
	// While commits are blocked, the server's current GTID position is
	// the snapshot's. BINLOG_GTID_POS is the only way without the block,
	// but it returns NULL for every position after an event larger than
	// max_allowed_packet in the same binlog file.
	q, args := "SELECT @@GLOBAL.gtid_binlog_pos", []any(nil)
	c := coord
	if sc.mode == mariadbpart.LockSingleTransaction {
		q, args, c = "SELECT BINLOG_GTID_POS(?, ?)", []any{pos.File, pos.Position}, sc.workers[0]
	}
	gtid, err := queryStrings(ctx, c, q, args...)
	if err != nil {
		return fmt.Errorf("GTID position: %w", err)
	}
	if len(gtid) == 1 {
		pos.GTID = gtid[0]
	}
	sc.binlog = pos
	return nil
}
