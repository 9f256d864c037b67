package mariadb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/backup"
	bm "github.com/zuulstate/zuulstate/backup/mariadb"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/storage/local"
)

// Sizes of the consistency test: orders and order_lines start with
// consRows rows each (even ids), accounts with consAccounts rows holding
// consBalance each. With consChunk rows per chunk the tables are dumped in
// several key ranges each (accounts too, so a transfer can straddle two
// chunks), by several workers, over a few seconds.
const (
	consRows     = 150_000
	consAccounts = 35_000
	consBalance  = 1000
	consChunk    = 10_000
)

// commit is one transaction of the writer: the id it inserted and the
// sequence number of its GTID.
type commit struct {
	id     int64
	domain string // GTID domain-server, e.g. "0-1"
	seq    uint64
}

// loadWriter commits transactions on prod until stop is closed. Each one
// inserts the same new id into orders and order_lines and moves an amount
// between two accounts, so any consistent copy has the same ids in both
// tables and the initial total balance. New ids are odd and spread over
// the whole key range, so every chunk of the dump sees concurrent inserts.
type loadWriter struct {
	name     string
	stop     chan struct{}
	stopOnce sync.Once
	finished chan struct{} // closed when run has returned; err is set then
	err      error
	commits  atomic.Int64 // transactions committed
	sent     atomic.Int64 // transactions whose COMMIT was sent (committed or about to be)

	mu  sync.Mutex
	log []commit
}

func startWriter(t *testing.T, db *sql.DB, name string) *loadWriter {
	t.Helper()
	w := &loadWriter{name: name, stop: make(chan struct{}), finished: make(chan struct{})}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.finished)
		defer conn.Close()
		w.err = w.run(context.WithoutCancel(t.Context()), conn)
	}()
	t.Cleanup(w.halt)
	return w
}

// halt stops the writer and waits for it; safe to call twice.
func (w *loadWriter) halt() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.finished
}

func (w *loadWriter) run(ctx context.Context, conn *sql.Conn) error {
	q := mariadbtest.QuoteIdent(w.name)
	const stride = 7919 // prime, not a factor of consRows: c*stride mod consRows is a permutation
	for c := int64(0); c < consRows; c++ {
		select {
		case <-w.stop:
			return nil
		default:
		}
		id := 2*((c*stride)%consRows) + 1
		from, to := 1+(c*31)%consAccounts, 1+(c*17+5)%consAccounts
		amount := 1 + c%97
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, s := range []struct {
			q    string
			args []any
		}{
			{"INSERT INTO " + q + ".orders (id, amount, pad) VALUES (?, ?, 'writer')", []any{id, amount}},
			{"INSERT INTO " + q + ".order_lines (id, order_id, amount, pad) VALUES (?, ?, ?, 'writer')", []any{id, id, amount}},
			{"UPDATE " + q + ".accounts SET balance = balance - ? WHERE id = ?", []any{amount, from}},
			{"UPDATE " + q + ".accounts SET balance = balance + ? WHERE id = ?", []any{amount, to}},
		} {
			if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("writer transaction %d: %w", c, err)
			}
		}
		w.sent.Add(1)
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("writer commit %d: %w", c, err)
		}
		var gtid string
		if err := conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&gtid); err != nil {
			return err
		}
		cm, err := parseGTID(gtid)
		if err != nil {
			return fmt.Errorf("writer commit %d: %w", c, err)
		}
		cm.id = id
		w.mu.Lock()
		w.log = append(w.log, cm)
		w.mu.Unlock()
		w.commits.Add(1)
	}
	return fmt.Errorf("writer ran out of ids after %d transactions: raise consRows", consRows)
}

// parseGTID parses one GTID "domain-server-seq".
func parseGTID(s string) (commit, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return commit{}, fmt.Errorf("GTID %q", s)
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return commit{}, fmt.Errorf("GTID %q: %w", s, err)
	}
	return commit{domain: s[:i], seq: seq}, nil
}

// waitCommits polls until the writer has committed at least n transactions.
func (w *loadWriter) waitCommits(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.commits.Load() < n {
		select {
		case <-w.finished:
			t.Fatalf("writer stopped early: %v", w.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer committed %d transactions in 30s, want %d", w.commits.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsistencyUnderLoad dumps from prod, with several workers and small
// key-range chunks, while a writer commits transactions that touch three
// tables; the copy restored into dev (under another name) must be one
// point in time: the same ids in orders and order_lines, the accounts
// balancing, row counts as in the manifest, and exactly the writer's
// transactions up to the recorded GTID position.
func TestConsistencyUnderLoad(t *testing.T) {
	prod := mariadbtest.Open(t, "prod")
	src := mariadbtest.CreateDB(t, prod, "zs_cons")
	cfg := devConfig(t)
	devDB := adminDB(t, cfg)
	dst := dbName(t, devDB, "zcons")
	q := mariadbtest.QuoteIdent(src)
	// The initial rows stay out of prod's binary log (each statement is
	// one multi-statement round trip, so the session setting cannot leak
	// to the writer's pooled connection); the writer's transactions are
	// logged.
	for _, s := range []string{
		"CREATE TABLE " + q + ".orders (id BIGINT NOT NULL PRIMARY KEY, amount INT NOT NULL, pad VARCHAR(255) NOT NULL) ENGINE=InnoDB",
		"CREATE TABLE " + q + ".order_lines (id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL, amount INT NOT NULL, pad VARCHAR(255) NOT NULL, KEY (order_id)) ENGINE=InnoDB",
		"CREATE TABLE " + q + ".accounts (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB",
		fmt.Sprintf("INSERT INTO %s.orders SELECT 2*seq, seq %% 97, REPEAT(MD5(seq), 6) FROM %s.seq_1_to_%d", q, q, consRows),
		fmt.Sprintf("INSERT INTO %s.order_lines SELECT 2*seq, 2*seq, seq %% 97, REPEAT(MD5(seq), 6) FROM %s.seq_1_to_%d", q, q, consRows),
		fmt.Sprintf("INSERT INTO %s.accounts SELECT seq, %d FROM %s.seq_1_to_%d", q, consBalance, q, consAccounts),
		"ANALYZE TABLE " + q + ".orders, " + q + ".order_lines, " + q + ".accounts",
	} {
		mariadbtest.Exec(t, prod, "SET SESSION sql_log_bin = 0; "+s+"; SET SESSION sql_log_bin = 1")
	}

	w := startWriter(t, prod, src)
	w.waitCommits(t, 20)

	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(st, repository.Options{})
	pc := mariadbtest.Config(t, "prod")
	snap := bm.New(bm.Config{Addr: pc.Addr, User: pc.User, Password: pc.Passwd, Databases: []string{src},
		Workers: 3, ChunkRows: consChunk})
	before := w.commits.Load()
	start := time.Now()
	m, err := backup.Run(t.Context(), repo, []backup.Snapshotter{snap}, backup.Options{})
	took := time.Since(start)
	after := w.sent.Load() // counted before COMMIT: no commit of the snapshot escapes it
	w.halt()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("dump took %v; writer committed %d transactions before it, %d during it", took.Round(time.Millisecond), before, after-before)
	if after-before < 5 {
		t.Errorf("only %d writer transactions during the dump: the test proves little", after-before)
	}

	// The manifest: lock mode, binlog position, chunking, row counts.
	var meta mariadbpart.DatabaseMeta
	for _, p := range m.Parts {
		if p.Name == mariadbpart.SchemaPartName(src) {
			if err := json.Unmarshal(p.Meta, &meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("lock mode %s, binlog %+v", meta.LockMode, meta.Binlog)
	if meta.LockMode != mariadbpart.LockBackupStage {
		t.Errorf("lock mode %q, want %q (the test user may block commits)", meta.LockMode, mariadbpart.LockBackupStage)
	}
	if b := meta.Binlog; b == nil || b.File == "" || b.Position == 0 {
		t.Fatalf("prod writes a binary log, but the manifest records binlog %+v", b)
	}
	if meta.Binlog.GTID == "" {
		// BINLOG_GTID_POS() returns NULL once the binlog file holds an
		// event larger than max_allowed_packet (InsertLargeBlob writes one
		// on prod); see TestGTIDAfterLargeBinlogEvent in backup/mariadb.
		t.Errorf("prod has GTIDs (gtid_binlog_pos %s), but the manifest records none (binlog %+v)",
			queryString(t, prod, "SELECT @@gtid_binlog_pos"), *meta.Binlog)
	}
	rows := map[string]int64{}
	for _, tm := range meta.Tables {
		rows[tm.Name] = tm.Rows
		if len(tm.Parts) < 3 {
			t.Errorf("table %s was dumped in %d parts; want it split into key ranges", tm.Name, len(tm.Parts))
		}
	}
	if rows["orders"] != rows["order_lines"] || rows["accounts"] != consAccounts {
		t.Errorf("manifest row counts are not one point in time: %v", rows)
	}

	// Restore into dev under another name.
	var out bytes.Buffer
	cfg.DBMap, cfg.Out = map[string]string{src: dst}, &out
	r := New(cfg)
	defer r.Close()
	if _, err := restore.Run(t.Context(), repo, m, []restore.Restorer{r}, restore.Options{}); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	t.Logf("restore summary:\n%s", out.String())

	d := mariadbtest.QuoteIdent(dst)
	for name, want := range rows {
		if got := queryInt(t, devDB, "SELECT COUNT(*) FROM "+d+"."+mariadbtest.QuoteIdent(name)); got != want {
			t.Errorf("%s: %d rows restored, the manifest recorded %d", name, got, want)
		}
	}
	for what, query := range map[string]string{
		"orders without their line": "SELECT COUNT(*) FROM " + d + ".orders o LEFT JOIN " + d + ".order_lines l ON l.id = o.id WHERE l.id IS NULL",
		"lines without their order": "SELECT COUNT(*) FROM " + d + ".order_lines l LEFT JOIN " + d + ".orders o ON o.id = l.id WHERE o.id IS NULL",
		"lines of another amount":   "SELECT COUNT(*) FROM " + d + ".orders o JOIN " + d + ".order_lines l ON l.id = o.id WHERE l.amount <> o.amount",
	} {
		if n := queryInt(t, devDB, query); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	if sum := queryInt(t, devDB, "SELECT SUM(balance) FROM "+d+".accounts"); sum != consAccounts*consBalance {
		t.Errorf("accounts sum to %d, want %d: transfers were half dumped", sum, consAccounts*consBalance)
	}

	// The writer's rows in the copy are exactly its transactions up to the
	// GTID position recorded in the manifest: the position matches the data.
	var pos *commit
	for _, g := range strings.Split(meta.Binlog.GTID, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		c, err := parseGTID(g)
		if err != nil {
			t.Fatalf("manifest GTID position: %v", err)
		}
		if len(w.log) > 0 && c.domain == w.log[0].domain {
			pos = &c
		}
	}
	got := queryInts(t, devDB, "SELECT id FROM "+d+".orders WHERE id % 2 = 1")
	switch {
	case meta.Binlog.GTID == "":
	case pos == nil:
		t.Errorf("GTID position %q has no entry for the writer's domain", meta.Binlog.GTID)
	default:
		var want []int64
		for _, c := range w.log {
			if c.domain == pos.domain && c.seq <= pos.seq {
				want = append(want, c.id)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the copy holds %d writer rows, the GTID position %s covers %d", len(got), meta.Binlog.GTID, len(want))
		}
	}
	if n := int64(len(got)); n < before || n > after {
		t.Errorf("the copy holds %d writer transactions; %d had committed when the dump started, %d when it ended", n, before, after)
	}
	if n := queryInt(t, devDB, "SELECT COUNT(*) FROM "+d+".orders WHERE id % 2 = 0"); n != consRows {
		t.Errorf("%d initial orders restored, want %d", n, consRows)
	}
}

func queryString(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(t.Context(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// queryInts returns the first column of every row, in order.
func queryInts(t *testing.T, db *sql.DB, q string, args ...any) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q+" ORDER BY 1", args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
