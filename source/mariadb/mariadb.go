// Package mariadb describes the mariadb source: one consistent, parallel
// SQL dump per database (backup/mariadb), loaded into the same or another
// server (restore/mariadb). What both directions share is in mariadbpart
// and sqlstream.
package mariadb

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/zuulstate/zuulstate/backup"
	backupmariadb "github.com/zuulstate/zuulstate/backup/mariadb"
	"github.com/zuulstate/zuulstate/config"
	restoremariadb "github.com/zuulstate/zuulstate/restore/mariadb"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

// Source is the mariadb source's descriptor.
var Source = source.Descriptor{
	Name:        mariadbpart.SourceName,
	Section:     section,
	RestoreRank: 2,
	Snapshotter: snapshotter,
	Restorer:    restorer,
	NextSteps:   func([]snapshot.Part) []source.Step { return []source.Step{stepScheduler} },
	Drill:       drill,
}

const section = "sources.mariadb"

// stepScheduler: Zuul migrates its schema on start, and only forward.
var stepScheduler = source.Step{Order: 30, Text: "Start one zuul-scheduler first and wait until it is up: it migrates the database schema forward (Zuul never migrates back, so do not point an older Zuul at it). Then start the other components."}

func snapshotter(cfg *config.Config, log *slog.Logger) (backup.Snapshotter, error) {
	m := cfg.Sources.MariaDB
	if m == nil {
		return nil, nil
	}
	tlsConfig, err := m.TLS.TLSConfig()
	if err != nil {
		return nil, err
	}
	return backupmariadb.New(backupmariadb.Config{
		Addr: m.Addr, Socket: m.Socket, User: m.User, Password: m.Password.Reveal(), TLS: tlsConfig,
		Databases: m.Databases, Workers: m.Workers, ChunkRows: m.ChunkRows,
		LockNonTransactional: m.LockNonTransactional, WithGrants: m.WithGrants, Log: log,
	}), nil
}

// restorer loads into the target's mariadb section over the source's
// connection, renaming databases by --db-map or the target's db_map.
func restorer(r source.RestoreRequest) (source.Restorer, error) {
	conn, databaseMap, workers, ok := r.Config.MariaDBTarget()
	if !ok {
		return source.Restorer{}, fmt.Errorf("%w: this snapshot has mariadb parts: configure the target's mariadb (or %s) to say where they go", config.ErrInvalid, section)
	}
	if len(r.DatabaseMap) > 0 {
		databaseMap = r.DatabaseMap
	}
	tlsConfig, err := conn.TLS.TLSConfig()
	if err != nil {
		return source.Restorer{}, err
	}
	addr := conn.Addr
	if conn.Socket != "" {
		addr = "unix:" + conn.Socket
	}
	dest := fmt.Sprintf("mariadb %s as %s", addr, conn.User)
	for _, from := range slices.Sorted(maps.Keys(databaseMap)) {
		dest += fmt.Sprintf(", %s → %s", from, databaseMap[from])
	}
	return source.Restorer{Restorer: restoremariadb.New(restoremariadb.Config{
		Addr: conn.Addr, Socket: conn.Socket, User: conn.User, Password: conn.Password.Reveal(), TLS: tlsConfig,
		DBMap: databaseMap, Force: r.Force, Workers: workers, WithGrants: r.WithGrants,
		Log: r.Log, Out: r.Out,
	}), Destination: dest}, nil
}
