package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// privilegedQuery finds the users and roles with a privilege on one of the
// databases (database, table, column or routine level) or a global one.
// Roles are the rows with an empty host.
const privilegedQuery = `SELECT User, Host FROM mysql.db WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.tables_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.columns_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.procs_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.user WHERE 'Y' IN (Select_priv, Insert_priv, Update_priv,
  Delete_priv, Create_priv, Drop_priv, Alter_priv, Index_priv, Execute_priv, Create_view_priv, Show_view_priv,
  Create_routine_priv, Alter_routine_priv, Event_priv, Trigger_priv, Super_priv)`

// account is a user (user@host) or a role (host "", is_role).
type account struct {
	user, host string
	role       bool
}

// quoted is the account as SHOW GRANTS names it: `role` or `user`@`host`.
func (a account) quoted() string {
	if a.role {
		return sqlstream.QuoteIdent(a.user)
	}
	return sqlstream.QuoteIdent(a.user) + "@" + sqlstream.QuoteIdent(a.host)
}

// String is how the manifest lists it: role, or user@host.
func (a account) String() string {
	if a.role {
		return a.user
	}
	return a.user + "@" + a.host
}

// writeGrants writes the roles and users that concern the dumped
// databases, as grantAccounts collects them, in an order that loads: the
// roles, the users, their privileges, the role grants, the default roles.
func writeGrants(ctx context.Context, conn *sql.Conn, dbs []string, out io.Writer) (mariadbpart.GrantsMeta, error) {
	meta := mariadbpart.GrantsMeta{Users: []string{}}
	accounts, err := grantAccounts(ctx, conn, dbs, &meta)
	if err != nil {
		return meta, err
	}
	wanted := map[string]bool{}
	for _, d := range dbs {
		wanted[sqlstream.QuoteIdent(d)] = true
	}
	var creates, privileges, roleGrants, defaults []string
	for _, a := range accounts {
		if a.role {
			// Created by the loading user, who becomes its admin as
			// MariaDB makes every creator (and so may grant it below).
			creates = append(creates, "CREATE ROLE IF NOT EXISTS "+a.quoted())
			meta.Roles = append(meta.Roles, a.String())
		} else {
			create, err := queryStrings(ctx, conn, "SHOW CREATE USER "+a.quoted())
			if err != nil || len(create) != 1 {
				return meta, fmt.Errorf("SHOW CREATE USER %s: %w", a.quoted(), err)
			}
			creates = append(creates, strings.Replace(create[0], "CREATE USER ", "CREATE USER IF NOT EXISTS ", 1))
			meta.Users = append(meta.Users, a.String())
		}
		lines, err := queryStrings(ctx, conn, "SHOW GRANTS FOR "+a.quoted())
		if err != nil {
			return meta, fmt.Errorf("SHOW GRANTS FOR %s: %w", a.quoted(), err)
		}
		for _, g := range lines {
			switch kind, object := classifyGrant(g, a.quoted()); kind {
			case grantPrivilege:
				if object == "*" || wanted[object] {
					privileges = append(privileges, stripIdentified(g))
				}
			case grantRole:
				roleGrants = append(roleGrants, g)
			case grantDefaultRole:
				defaults = append(defaults, g)
			case grantOther:
				meta.Skipped = append(meta.Skipped, g)
			}
		}
	}
	w := sqlstream.NewWriter(out, "zuulstate mariadb dump, format 1; part grants")
	for _, s := range slices.Concat([]string{"/*!40101 SET NAMES utf8mb4 */"}, creates, privileges, roleGrants, defaults) {
		if err := w.Statement(s); err != nil {
			return meta, err
		}
	}
	return meta, w.Close()
}

// grantAccounts returns, roles first and each kind by name, the accounts
// with a privilege on one of dbs or a global one, every user and role
// such a role is granted to (they get the privilege through it, directly
// or through other roles, or may grant it), and every role any of those
// holds (so its grants load). Anonymous accounts and mariadb.sys are left
// out.
func grantAccounts(ctx context.Context, conn *sql.Conn, dbs []string, meta *mariadbpart.GrantsMeta) ([]account, error) {
	all, err := queryMaps(ctx, conn, "SELECT User, Host, is_role FROM mysql.user")
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	known := map[account]bool{}
	for _, r := range all {
		known[account{user: r["User"], host: r["Host"], role: r["is_role"] == "Y"}] = true
	}
	lookup := func(user, host string) (account, bool) {
		for _, a := range []account{{user, host, false}, {user, host, true}} {
			if known[a] {
				return a, true
			}
		}
		return account{}, false
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(dbs)), ",")
	args := make([]any, 0, 4*len(dbs))
	for range 4 {
		for _, d := range dbs {
			args = append(args, d)
		}
	}
	direct, err := queryMaps(ctx, conn, fmt.Sprintf(privilegedQuery, marks), args...)
	if err != nil {
		return nil, fmt.Errorf("list users and roles: %w", err)
	}
	mapping, err := queryMaps(ctx, conn, "SELECT User, Host, Role FROM mysql.roles_mapping")
	if err != nil {
		return nil, fmt.Errorf("list role grants: %w", err)
	}
	chosen := map[account]bool{}
	for _, r := range direct {
		a, ok := lookup(r["User"], r["Host"])
		if !ok {
			meta.Skipped = append(meta.Skipped, fmt.Sprintf("privileges of %s@%s, which is neither a user nor a role", r["User"], r["Host"]))
			continue
		}
		chosen[a] = true
	}
	// Grantees of chosen roles, until none is added; then the roles the
	// chosen accounts hold, until none is added.
	for _, up := range []bool{true, false} {
		for added := true; added; {
			added = false
			for _, m := range mapping {
				role := account{user: m["Role"], role: true}
				grantee, ok := lookup(m["User"], m["Host"])
				from, to := role, grantee
				if !up {
					from, to = grantee, role
				}
				if ok && known[role] && chosen[from] && !chosen[to] {
					chosen[to], added = true, true
				}
			}
		}
	}
	var out []account
	for a := range chosen {
		if a.user != "" && a.user != "mariadb.sys" {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b account) int {
		switch {
		case a.role != b.role && a.role:
			return -1
		case a.role != b.role:
			return 1
		}
		return strings.Compare(a.String(), b.String())
	})
	return out, nil
}
