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

// writePost writes the D.post part: functions, packages and their bodies,
// and procedures (views may call functions), views in dependency order,
// triggers, events. Each object
// is preceded by the sql_mode and character set it was created with.
func writePost(ctx context.Context, conn *sql.Conn, d *dbInfo, part string, out io.Writer) (mariadbpart.PostMeta, error) {
	meta := mariadbpart.PostMeta{Database: d.name}
	w := sqlstream.NewWriter(out, partHeader(d.name, part))
	for _, s := range []string{"/*!40101 SET NAMES utf8mb4 */", loadSession, "USE " + sqlstream.QuoteIdent(d.name)} {
		if err := w.Statement(s); err != nil {
			return meta, err
		}
	}
	emit := func(what, name, col string) error {
		row, err := showCreate(ctx, conn, what, d.name, name)
		if err != nil {
			return err
		}
		text, err := createText(row, col, what, name)
		if err != nil {
			return err
		}
		// A view has no sql_mode of its own: SHOW CREATE VIEW printed its
		// text under the dump session's empty sql_mode, so it is loaded
		// under that, not under the last routine's (sql_mode=ORACLE
		// would read CONCAT as Oracle's).
		set := []string{"SET SESSION sql_mode=''"}
		if m, ok := row["sql_mode"]; ok {
			set[0] = "SET SESSION sql_mode=" + string(sqlstream.AppendString(nil, []byte(m)))
		}
		if tz, ok := row["time_zone"]; ok {
			set = append(set, "SET SESSION time_zone="+string(sqlstream.AppendString(nil, []byte(tz))))
		}
		set = append(set, "SET character_set_client="+row["character_set_client"]+", collation_connection="+row["collation_connection"])
		for _, s := range append(set, text) {
			if err := w.Statement(s); err != nil {
				return err
			}
		}
		return nil
	}
	// A package comes before its body: 'PACKAGE' sorts before
	// 'PACKAGE BODY'. Packages (sql_mode=ORACLE) are written with the
	// sql_mode they were created with, like every object.
	routines, err := queryMaps(ctx, conn, `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`, d.name)
	if err != nil {
		return meta, fmt.Errorf("list routines: %w", err)
	}
	kinds := map[string]struct {
		col   string
		names *[]string
	}{
		"FUNCTION":     {"Create Function", &meta.Functions},
		"PROCEDURE":    {"Create Procedure", &meta.Procedures},
		"PACKAGE":      {"Create Package", &meta.Packages},
		"PACKAGE BODY": {"Create Package Body", &meta.PackageBodies},
	}
	for _, r := range routines {
		name, typ := r["ROUTINE_NAME"], r["ROUTINE_TYPE"]
		kind, ok := kinds[typ]
		if !ok {
			d.meta.Warnings = append(d.meta.Warnings, fmt.Sprintf("%s %s not dumped: this zuulstate does not know that kind of routine", typ, name))
			continue
		}
		if err := emit(typ, name, kind.col); err != nil {
			return meta, err
		}
		*kind.names = append(*kind.names, name)
	}
	views, err := viewOrder(ctx, conn, d.name)
	if err != nil {
		return meta, err
	}
	for _, v := range views {
		if err := emit("VIEW", v.name, "Create View"); err != nil {
			return meta, err
		}
		meta.Views = append(meta.Views, v.name)
	}
	lists := []struct {
		what, col, q string
		names        *[]string
	}{
		{"TRIGGER", "SQL Original Statement", `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?
			ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, &meta.Triggers},
		{"EVENT", "Create Event", `SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`, &meta.Events},
	}
	for _, l := range lists {
		names, err := queryStrings(ctx, conn, l.q, d.name)
		if err != nil {
			return meta, fmt.Errorf("list %ss: %w", strings.ToLower(l.what), err)
		}
		for _, n := range names {
			if err := emit(l.what, n, l.col); err != nil {
				return meta, err
			}
		}
		*l.names = names
	}
	if err := w.Statement("SET SESSION time_zone='+00:00'"); err != nil {
		return meta, err
	}
	return meta, w.Close()
}

type view struct {
	name string
	def  string
}

// viewOrder returns the database's views so that every view comes after
// the views its definition names (`db`.`view`); MariaDB qualifies every
// table reference in SHOW CREATE VIEW.
func viewOrder(ctx context.Context, conn *sql.Conn, db string) ([]view, error) {
	names, err := queryStrings(ctx, conn, `SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, db)
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	views := make([]view, 0, len(names))
	for _, n := range names {
		row, err := showCreate(ctx, conn, "VIEW", db, n)
		if err != nil {
			return nil, err
		}
		views = append(views, view{name: n, def: row["Create View"]})
	}
	qdb := sqlstream.QuoteIdent(db) + "."
	var out []view
	done := map[string]bool{}
	for len(out) < len(views) {
		progress := false
		for _, v := range views {
			if done[v.name] {
				continue
			}
			ready := !slices.ContainsFunc(views, func(o view) bool {
				return o.name != v.name && !done[o.name] && strings.Contains(v.def, qdb+sqlstream.QuoteIdent(o.name))
			})
			if ready {
				out, done[v.name], progress = append(out, v), true, true
			}
		}
		if !progress { // a false dependency cycle: keep name order for the rest
			for _, v := range views {
				if !done[v.name] {
					out, done[v.name] = append(out, v), true
				}
			}
		}
	}
	return out, nil
}
