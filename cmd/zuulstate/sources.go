package main

import (
	"fmt"
	"log/slog"

	"github.com/zuulstate/zuulstate/backup"
	bmariadb "github.com/zuulstate/zuulstate/backup/mariadb"
	bpaths "github.com/zuulstate/zuulstate/backup/paths"
	bvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	bzookeeper "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// snapshotters builds the configured sources; log receives their progress.
func snapshotters(cfg *config.Config, log *slog.Logger) ([]backup.Snapshotter, error) {
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
			LockNonTransactional: m.LockNonTransactional, WithGrants: m.WithGrants, Log: log,
		}))
	}
	if v := cfg.Sources.Volumes; v != nil {
		s, err := volumesSnapshotter(v, log)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if z := cfg.Sources.ZooKeeper; z != nil {
		s, err := zookeeperSnapshotter(z, log)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no sources configured: add sources.paths or sources.mariadb (see examples/zuulstate.yaml)", config.ErrInvalid)
	}
	return out, nil
}

// volumesSnapshotter maps sources.volumes onto the volumes source.
func volumesSnapshotter(v *config.VolumesSource, log *slog.Logger) (backup.Snapshotter, error) {
	conn, err := dockerConn(v.Docker)
	if err != nil {
		return nil, err
	}
	cfg := bvolumes.Config{Conn: conn, Mode: v.Mode, StopTimeout: v.StopTimeout, Log: log}
	for _, it := range v.Volumes {
		cfg.Volumes = append(cfg.Volumes, bvolumes.VolumeSel{Name: it.Name, Label: it.Label, Exclude: it.Exclude, Stop: it.Stop, Mode: it.Mode})
	}
	for _, it := range v.Containers {
		cfg.Containers = append(cfg.Containers, bvolumes.ContainerSel{Name: it.Name, Exclude: it.Exclude, Stop: it.Stop, Mode: it.Mode})
	}
	return bvolumes.New(cfg), nil
}

func dockerConn(d config.DockerConn) (engine.Conn, error) {
	tlsCfg, err := d.TLS.TLSConfig()
	return engine.Conn{Host: d.Host, TLS: tlsCfg}, err
}

// zookeeperSnapshotter maps sources.zookeeper onto the zookeeper source.
func zookeeperSnapshotter(z *config.ZooKeeperSource, log *slog.Logger) (backup.Snapshotter, error) {
	conn, err := z.Client()
	if err != nil {
		return nil, err
	}
	masked, err := config.ParseACLs(z.ReplaceMaskedACLs)
	if err != nil {
		return nil, fmt.Errorf("%w: sources.zookeeper.replace_masked_acls: %w", config.ErrInvalid, err)
	}
	return bzookeeper.New(bzookeeper.Config{Conn: conn, Profile: z.Profile, Include: z.Include, Exclude: z.Exclude,
		Containers: z.ContainerPaths, TTLs: z.TTLPaths, Concurrency: z.Concurrency, ReplaceMaskedACLs: masked, Log: log}), nil
}
