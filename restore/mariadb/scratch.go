package mariadb

import (
	"context"
	"fmt"
	"slices"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/sqlstream"
)

// Databases lists the source databases that parts hold, in manifest
// order, and the names of the parts that hold no database (grants: users
// and roles are server-wide).
func Databases(parts []snapshot.Part) (databases, serverWide []string, err error) {
	for _, p := range parts {
		it, err := classify(p)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case it.kind == kindGrants:
			serverWide = append(serverWide, p.Name)
		case !slices.Contains(databases, it.db):
			databases = append(databases, it.db)
		}
	}
	return databases, serverWide, nil
}

// ExistingDatabases returns those of names that exist on the server,
// empty or not.
func (r *Restorer) ExistingDatabases(ctx context.Context, names []string) ([]string, error) {
	db, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
			return nil, fmt.Errorf("check database %s on %s: %w", name, r.addr(), err)
		}
		if n > 0 {
			out = append(out, name)
		}
	}
	return out, nil
}

// DropDatabase drops database name if it exists. Only a restore drill
// calls it, for its own scratch databases.
func (r *Restorer) DropDatabase(ctx context.Context, name string) error {
	db, err := r.conn(ctx)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqlstream.QuoteIdent(name)); err != nil {
		return fmt.Errorf("drop database %s on %s: %w", name, r.addr(), err)
	}
	return nil
}

// Addr names the server in messages: host:port or unix:socket.
func (r *Restorer) Addr() string { return r.addr() }
