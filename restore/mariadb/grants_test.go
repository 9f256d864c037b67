package mariadb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	bm "github.com/zuulstate/zuulstate/backup/mariadb"
	"github.com/zuulstate/zuulstate/internal/mariadbtest"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// grantsFixture is what TestGrantsWithRoles creates on the source: roles
// granted to users and to a role, a default role, WITH ADMIN OPTION,
// column and routine grants, users with a password hash, unix_socket and
// ed25519, a user that reaches the database only through a role, and an
// account of another database that must stay out.
var grantsFixture = []string{
	"CREATE DATABASE app",
	"CREATE TABLE app.t (id INT PRIMARY KEY, secret INT)",
	"INSERT INTO app.t VALUES (1, 10), (2, 20)",
	"CREATE PROCEDURE app.p() SELECT COUNT(*) FROM app.t",
	"CREATE FUNCTION app.f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
	"CREATE DATABASE other",
	"CREATE ROLE reader",
	"GRANT SELECT ON app.* TO reader",
	"CREATE ROLE writer",
	"GRANT reader TO writer",
	"GRANT INSERT, UPDATE ON app.t TO writer",
	"CREATE ROLE unrelated_role",
	"GRANT SELECT ON other.* TO unrelated_role",
	"CREATE USER 'hash'@'%' IDENTIFIED BY 'hash-Secret-1'",
	"GRANT writer TO 'hash'@'%'",
	"SET DEFAULT ROLE writer FOR 'hash'@'%'",
	"GRANT unrelated_role TO 'hash'@'%'",
	"CREATE USER 'sock'@'localhost' IDENTIFIED VIA unix_socket",
	"GRANT SELECT (id), UPDATE (secret) ON app.t TO 'sock'@'localhost'",
	"GRANT EXECUTE ON PROCEDURE app.p TO 'sock'@'localhost'",
	"CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-Secret-2')",
	"GRANT reader TO 'ed'@'%' WITH ADMIN OPTION",
	"GRANT EXECUTE ON FUNCTION app.f TO 'ed'@'%'",
	"CREATE USER 'elsewhere'@'%' IDENTIFIED BY 'x'",
	"GRANT SELECT ON other.* TO 'elsewhere'@'%'",
}

// TestGrantsWithRoles: with_grants dumps roles as roles and users as
// users, with every kind of grant; the restore, under --db-map, recreates
// them so that every account's grants equal the source's with the
// database renamed, and the users log in with their passwords.
func TestGrantsWithRoles(t *testing.T) {
	args := []string{"--plugin-load-add=auth_ed25519"}
	src, dst := mariadbtest.StartServer(t, args...), mariadbtest.StartServer(t, args...)
	srcDB, dstDB := src.Open(t), dst.Open(t)
	for _, q := range grantsFixture {
		mariadbtest.Exec(t, srcDB, q)
	}

	sink := &memSink{f: newFakeParts()}
	snap := bm.New(bm.Config{Addr: src.Addr, User: src.User, Password: src.Password, Databases: []string{"app"}, WithGrants: true, Workers: 2})
	if err := snap.Snapshot(t.Context(), sink); err != nil {
		t.Fatalf("dump: %v", err)
	}
	var meta mariadbpart.GrantsMeta
	for _, p := range sink.f.parts {
		if p.Name == mariadbpart.GrantsPartName {
			if err := json.Unmarshal(p.Meta, &meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantRoles := []string{"reader", "unrelated_role", "writer"}
	wantUsers := []string{"ed@%", "hash@%", "root@localhost", "sock@localhost", src.User + "@%"}
	if !slices.Equal(meta.Roles, wantRoles) || !slices.Equal(meta.Users, wantUsers) {
		t.Fatalf("grants part has roles %v and users %v, want %v and %v", meta.Roles, meta.Users, wantRoles, wantUsers)
	}

	var out bytes.Buffer
	r := New(Config{Addr: dst.Addr, User: dst.User, Password: dst.Password, DBMap: map[string]string{"app": "app2"},
		WithGrants: true, Workers: 2, Out: &out})
	defer r.Close()
	if plan := strings.Join(r.Plan(sink.f.parts), "\n"); !strings.Contains(plan, "create 3 roles and 5 users") {
		t.Errorf("plan:\n%s", plan)
	}
	if err := r.Restore(t.Context(), sink.f.parts, sink.f.open); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "8 of 8 roles and users found") {
		t.Errorf("summary:\n%s", out.String())
	}
	// A refresh (the dev runbook's --force) loads them again over the
	// existing accounts.
	again := New(Config{Addr: dst.Addr, User: dst.User, Password: dst.Password, DBMap: map[string]string{"app": "app2"},
		WithGrants: true, Force: true, Workers: 2, Out: &out})
	defer again.Close()
	if err := again.Restore(t.Context(), sink.f.parts, sink.f.open); err != nil {
		t.Fatalf("restore again: %v\n%s", err, out.String())
	}

	// Every account as on the source, app renamed to app2; the role that
	// concerns only another database exists (hash holds it) without its
	// grants there.
	for _, a := range []string{"reader", "writer", "'hash'@'%'", "'sock'@'localhost'", "'ed'@'%'"} {
		want := strings.ReplaceAll(strings.Join(mariadbtest.Strings(t, srcDB, "SHOW GRANTS FOR "+a), "\n"), "`app`", "`app2`")
		if got := strings.Join(mariadbtest.Strings(t, dstDB, "SHOW GRANTS FOR "+a), "\n"); got != want {
			t.Errorf("grants of %s:\n%s\nwant:\n%s", a, got, want)
		}
		if strings.HasPrefix(a, "'") && !slices.Equal(mariadbtest.Strings(t, srcDB, "SHOW CREATE USER "+a), mariadbtest.Strings(t, dstDB, "SHOW CREATE USER "+a)) {
			t.Errorf("SHOW CREATE USER %s differs", a)
		}
	}
	mapping := "SELECT User, Host, Role, Admin_option FROM mysql.roles_mapping ORDER BY 1, 2, 3"
	if want, got := mariadbtest.Strings(t, srcDB, mapping), mariadbtest.Strings(t, dstDB, mapping); !slices.Equal(want, got) {
		t.Errorf("role grants:\n%v\nwant:\n%v", got, want)
	}
	if got := mariadbtest.Strings(t, dstDB, "SHOW GRANTS FOR unrelated_role"); !slices.Equal(got, []string{"GRANT USAGE ON *.* TO `unrelated_role`"}) {
		t.Errorf("grants of unrelated_role: %v", got)
	}
	if mariadbtest.Strings(t, dstDB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'elsewhere'")[0] != "0" {
		t.Error("an account of another database was restored")
	}

	// The passwords came along: hash reads app2.t through its default
	// role, ed logs in with ed25519.
	login := func(user, password, query string) (string, error) {
		cfg := dst.Config()
		cfg.User, cfg.Passwd = user, password
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return "", err
		}
		defer db.Close()
		var v string
		return v, db.QueryRowContext(t.Context(), query).Scan(&v)
	}
	if v, err := login("hash", "hash-Secret-1", "SELECT SUM(secret) FROM app2.t"); err != nil || v != "30" {
		t.Errorf("hash on the target: %q %v", v, err)
	}
	if v, err := login("ed", "ed-Secret-2", "SELECT app2.f(1)"); err != nil || v != "2" {
		t.Errorf("ed on the target: %q %v", v, err)
	}
}
