package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// loadGrants loads the grants part (roles, users, their privileges, role
// grants, default roles, in that order: see backup/mariadb) and then checks
// that every role and user it lists exists on the target.
func (r *Restorer) loadGrants(ctx context.Context, db *sql.DB, it item, open restore.Opener, ren renamer) error {
	if err := r.loadOne(ctx, db, it, open, ren.rewriteAll); err != nil {
		return err
	}
	if it.grants == nil {
		return nil
	}
	rows, err := db.QueryContext(ctx, "SELECT User, Host, is_role FROM mysql.user")
	if err != nil {
		return fmt.Errorf("check the restored accounts on %s: %w", r.addr(), err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var user, host, role string
		if err := rows.Scan(&user, &host, &role); err != nil {
			return fmt.Errorf("check the restored accounts on %s: %w", r.addr(), err)
		}
		if role == "Y" {
			have["role "+user] = true
		} else {
			have["user "+user+"@"+host] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check the restored accounts on %s: %w", r.addr(), err)
	}
	var want, missing []string
	for _, role := range it.grants.Roles {
		want = append(want, "role "+role)
	}
	for _, user := range it.grants.Users {
		want = append(want, "user "+user)
	}
	for _, a := range want {
		if !have[a] {
			missing = append(missing, a)
		}
	}
	found := int64(len(want) - len(missing))
	r.mu.Lock()
	r.results = append(r.results, restore.Result{Source: mariadbpart.SourceName, Part: it.part.Name, What: "roles and users",
		Expected: int64(len(want)), Found: found})
	r.mu.Unlock()
	fmt.Fprintf(r.cfg.Out, "grants: %d of %d roles and users found on %s\n", found, len(want), r.addr())
	if len(missing) > 0 {
		return fmt.Errorf("grants: %d of the snapshot's roles and users are missing on %s after loading: %s",
			len(missing), r.addr(), strings.Join(missing, ", "))
	}
	return nil
}

// grantsLine says what loading the grants part creates.
func grantsLine(it *item) string {
	if it.grants == nil {
		return "create users, roles and grants (part grants)"
	}
	return fmt.Sprintf("create %d roles and %d users with their grants, role grants and default roles (part grants)",
		len(it.grants.Roles), len(it.grants.Users))
}
