package mariadb

import (
	"encoding/json"
	"testing"

	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// TestGTIDAfterLargeBinlogEvent: once the current binlog file holds an
// event larger than max_allowed_packet (a row inserted by a session with a
// larger limit, here a 20 MiB BLOB), the server's BINLOG_GTID_POS() returns
// NULL for every later position in that file. The manifest must still
// record the GTID position of the snapshot (or the backup must say why it
// cannot), not silently leave it out.
func TestGTIDAfterLargeBinlogEvent(t *testing.T) {
	srv := mariadbtest.StartServer(t, "--log-bin=binlog", "--server-id=1", "--binlog-format=ROW")
	db := srv.Open(t)
	name := "zs_gtid" // not CreateDB: the server goes away with the test
	mariadbtest.Exec(t, db, "CREATE DATABASE "+name)
	mariadbtest.InsertLargeBlob(t, db, name, 20<<20)
	mariadbtest.Exec(t, db, "CREATE TABLE "+name+".t (id INT PRIMARY KEY)")
	mariadbtest.Exec(t, db, "INSERT INTO "+name+".t VALUES (1), (2)")
	var want string
	if err := db.QueryRow("SELECT @@gtid_binlog_pos").Scan(&want); err != nil {
		t.Fatal(err)
	}
	var fn string
	var pos int64
	var doDB, ignoreDB any
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&fn, &pos, &doDB, &ignoreDB); err != nil {
		t.Fatal(err)
	}
	var direct *string
	if err := db.QueryRow("SELECT BINLOG_GTID_POS(?, ?)", fn, pos).Scan(&direct); err != nil {
		t.Fatal(err)
	}
	if direct != nil {
		t.Logf("this server answers BINLOG_GTID_POS(%s, %d) = %s after a large event", fn, pos, *direct)
	}

	sink := &memSink{}
	if err := New(Config{Addr: srv.Addr, User: srv.User, Password: srv.Password, Databases: []string{name}, Workers: 2}).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	var m mariadbpart.DatabaseMeta
	if err := json.Unmarshal(sink.meta[mariadbpart.SchemaPartName(name)], &m); err != nil {
		t.Fatal(err)
	}
	if m.Binlog == nil || m.Binlog.File != fn || m.Binlog.Position != uint64(pos) {
		t.Errorf("binlog %+v, want file %s position %d", m.Binlog, fn, pos)
	}
	if m.Binlog == nil || m.Binlog.GTID != want {
		t.Errorf("manifest GTID position %q, want %q (@@gtid_binlog_pos while nothing else writes); warnings %q",
			gtidOf(m.Binlog), want, m.Warnings)
	}
}

func gtidOf(b *mariadbpart.BinlogPos) string {
	if b == nil {
		return "<no binlog>"
	}
	return b.GTID
}
