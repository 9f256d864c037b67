package mariadb

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

func TestErrors(t *testing.T) {
	prod, _ := testServers(t)
	cfg := prod.config("zs_no_such_database")
	err := New(cfg).Snapshot(t.Context(), &memSink{})
	if err == nil || !strings.Contains(err.Error(), "zs_no_such_database") {
		t.Errorf("unknown database: %v", err)
	}
	cfg = prod.config("mysql")
	cfg.Password = "wrong-secret-pw"
	err = New(cfg).Snapshot(t.Context(), &memSink{})
	if err == nil || strings.Contains(err.Error(), cfg.Password) || !strings.Contains(err.Error(), cfg.User+"@"+cfg.Addr) {
		t.Errorf("wrong password: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := New(prod.config("mysql")).Snapshot(ctx, &memSink{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// A user without RELOAD falls back to one consistent-snapshot connection;
// LockNonTransactional locks MyISAM tables; WithGrants dumps the user.
func TestSingleTransactionLockAndGrants(t *testing.T) {
	prod, dev := testServers(t)
	db := tempDB(t, prod, dev)
	user := db + "_ro"
	t.Cleanup(func() {
		_, _ = prod.db.ExecContext(context.WithoutCancel(t.Context()), "DROP USER IF EXISTS "+user+"@'%'")
		_, _ = dev.db.ExecContext(context.WithoutCancel(t.Context()), "DROP USER IF EXISTS "+user+"@'%'")
	})
	prod.exec(t, "CREATE DATABASE "+db,
		"CREATE TABLE "+db+".a (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE "+db+".m (id INT PRIMARY KEY) ENGINE=MyISAM",
		"INSERT INTO "+db+".a VALUES (1),(2)", "INSERT INTO "+db+".m VALUES (3)",
		"CREATE USER "+user+"@'%' IDENTIFIED BY 'ro-secret'",
		"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON "+db+".* TO "+user+"@'%'",
		"GRANT INSERT (id) ON "+db+".a TO "+user+"@'%'")
	cfg := prod.config(db)
	cfg.User, cfg.Password, cfg.Workers, cfg.LockNonTransactional = user, "ro-secret", 4, true
	sink := &memSink{}
	if err := New(cfg).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	var m mariadbpart.DatabaseMeta
	if err := json.Unmarshal(sink.meta[mariadbpart.SchemaPartName(db)], &m); err != nil {
		t.Fatal(err)
	}
	if m.LockMode != mariadbpart.LockSingleTransaction || !m.NonTransactionalLocked || m.Tables[0].Rows != 2 || m.Tables[1].Rows != 1 {
		t.Errorf("meta: %s", sink.meta[mariadbpart.SchemaPartName(db)])
	}

	cfg = prod.config(db)
	cfg.WithGrants, cfg.LockNonTransactional = true, true
	sink = &memSink{}
	if err := New(cfg).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(sink.meta[mariadbpart.SchemaPartName(db)], &m) //nolint:errcheck // checked above
	if m.LockMode != mariadbpart.LockBackupStage || !m.NonTransactionalLocked {
		t.Errorf("meta: %s", sink.meta[mariadbpart.SchemaPartName(db)])
	}
	g := string(sink.parts[mariadbpart.GrantsPartName])
	if !strings.Contains(g, "CREATE USER IF NOT EXISTS `"+user+"`@`%`") || !strings.Contains(g, "ON `"+db+"`.`a` TO") ||
		strings.Contains(g, "GRANT USAGE ON *.* TO `"+user+"`@`%` IDENTIFIED") {
		t.Errorf("grants part:\n%s", g)
	}
	dev.loadAll(t, sink, db)
	dev.loadStock(t, sink.parts[mariadbpart.GrantsPartName])
	if got := dev.strings(t, "SHOW GRANTS FOR "+user+"@'%'"); len(got) != 3 {
		t.Errorf("grants on dev: %v", got)
	}
}
