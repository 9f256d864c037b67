package main

import (
	"fmt"

	"github.com/zuulstate/zuulstate/backup"
	bmariadb "github.com/zuulstate/zuulstate/backup/mariadb"
	bpaths "github.com/zuulstate/zuulstate/backup/paths"
	"github.com/zuulstate/zuulstate/config"
)

// snapshotters builds the configured sources.
func snapshotters(cfg *config.Config) ([]backup.Snapshotter, error) {
	var out []backup.Snapshotter
	if len(cfg.Sources.Paths) > 0 {
		s := &bpaths.Snapshotter{}
		for _, p := range cfg.Sources.Paths {
			s.Items = append(s.Items, bpaths.Item{Name: p.Name, Path: p.Path, Exclude: p.Exclude})
		}
		out = append(out, s)
	}
	if m := cfg.Sources.MariaDB; m != nil {
		tlsCfg, err := m.TLS.TLSConfig()
		if err != nil {
			return nil, err
		}
		out = append(out, bmariadb.New(bmariadb.Config{
			Addr: m.Addr, Socket: m.Socket, User: m.User, Password: m.Password.Reveal(), TLS: tlsCfg,
			Databases: m.Databases, Workers: m.Workers, ChunkRows: m.ChunkRows,
			LockNonTransactional: m.LockNonTransactional, WithGrants: m.WithGrants,
		}))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no sources configured: add sources.paths or sources.mariadb (see examples/zuulstate.yaml)", config.ErrInvalid)
	}
	return out, nil
}
