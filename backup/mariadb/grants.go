package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// usersQuery finds the accounts with a privilege on one of the databases
// (database, table, column or routine level) or a global one.
const usersQuery = `SELECT User, Host FROM mysql.db WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.tables_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.columns_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.procs_priv WHERE Db IN (%[1]s)
UNION SELECT User, Host FROM mysql.user WHERE is_role = 'N' AND 'Y' IN (Select_priv, Insert_priv, Update_priv,
  Delete_priv, Create_priv, Drop_priv, Alter_priv, Index_priv, Execute_priv, Create_view_priv, Show_view_priv,
  Create_routine_priv, Alter_routine_priv, Event_priv, Trigger_priv, Super_priv)
ORDER BY User, Host`

// grantOn matches the object of a GRANT … ON line.
var grantOn = regexp.MustCompile("^GRANT .* ON (?:PROCEDURE |FUNCTION |PACKAGE BODY |PACKAGE )?(\\*|`(?:[^`]|``)*`)\\.")

// writeGrants writes CREATE USER IF NOT EXISTS and the GRANT lines that
// concern the dumped databases (or are global) for every such account.
// Role grants and PROXY grants are left out (reported in Skipped).
func writeGrants(ctx context.Context, conn *sql.Conn, dbs []string, out io.Writer) (mariadbpart.GrantsMeta, error) {
	var meta mariadbpart.GrantsMeta
	quoted := make([]string, len(dbs))
	args := make([]any, 0, 4*len(dbs))
	for i, d := range dbs {
		quoted[i] = "?"
		args = append(args, d)
	}
	in := strings.Join(quoted, ",")
	all := slices.Concat(args, args, args, args)
	rows, err := queryMaps(ctx, conn, fmt.Sprintf(usersQuery, in), all...)
	if err != nil {
		return meta, fmt.Errorf("list users: %w", err)
	}
	wanted := map[string]bool{}
	for _, d := range dbs {
		wanted[sqlstream.QuoteIdent(d)] = true
	}
	w := sqlstream.NewWriter(out, "zuulstate mariadb dump, format 1; part grants")
	if err := w.Statement("/*!40101 SET NAMES utf8mb4 */"); err != nil {
		return meta, err
	}
	for _, r := range rows {
		user, host := r["User"], r["Host"]
		if user == "" || user == "mariadb.sys" {
			continue
		}
		account := sqlstream.QuoteIdent(user) + "@" + sqlstream.QuoteIdent(host)
		create, err := queryStrings(ctx, conn, "SHOW CREATE USER "+account)
		if err != nil || len(create) != 1 {
			return meta, fmt.Errorf("SHOW CREATE USER %s: %w", account, err)
		}
		grants, err := queryStrings(ctx, conn, "SHOW GRANTS FOR "+account)
		if err != nil {
			return meta, fmt.Errorf("SHOW GRANTS FOR %s: %w", account, err)
		}
		stmt := strings.Replace(create[0], "CREATE USER ", "CREATE USER IF NOT EXISTS ", 1)
		if err := w.Statement(stmt); err != nil {
			return meta, err
		}
		meta.Users = append(meta.Users, user+"@"+host)
		for _, g := range grants {
			m := grantOn.FindStringSubmatch(g)
			if m == nil || strings.HasPrefix(g, "GRANT PROXY ") || (m[1] != "*" && !wanted[m[1]]) {
				if m == nil || strings.HasPrefix(g, "GRANT PROXY ") {
					meta.Skipped = append(meta.Skipped, g)
				}
				continue
			}
			if err := w.Statement(stripIdentified(g)); err != nil {
				return meta, err
			}
		}
	}
	return meta, w.Close()
}

// stripIdentified removes "IDENTIFIED BY PASSWORD '…'" / "IDENTIFIED VIA …"
// from a SHOW GRANTS line: CREATE USER carries the authentication, and a
// GRANT must not reset an existing account's password.
func stripIdentified(g string) string {
	i := strings.Index(g, " IDENTIFIED ")
	if i < 0 {
		return g
	}
	rest := g[i+1:]
	if j := strings.Index(rest, " WITH "); j >= 0 {
		return g[:i] + rest[j:]
	}
	return g[:i]
}
