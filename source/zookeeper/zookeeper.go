// Package zookeeper describes the zookeeper source: Zuul's ZooKeeper tree
// walked into a tree part and a keys part (backup/zookeeper) and written
// back, then read back and compared (restore/zookeeper). What both
// directions share is in zkconn and zktree.
package zookeeper

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/zuulstate/zuulstate/backup"
	backupzookeeper "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/config"
	restorezookeeper "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Source is the zookeeper source's descriptor.
var Source = source.Descriptor{
	Name:        zktree.SourceName,
	Section:     section,
	RestoreRank: 3,
	Wipes:       true,
	Snapshotter: snapshotter,
	Restorer:    restorer,
	NextSteps:   nextSteps,
	Drill:       drill,
}

const section = "sources.zookeeper"

func snapshotter(cfg *config.Config, log *slog.Logger) (backup.Snapshotter, error) {
	z := cfg.Sources.ZooKeeper
	if z == nil {
		return nil, nil
	}
	conn, err := clientConfig(z.ZooKeeperConn)
	if err != nil {
		return nil, err
	}
	masked, err := config.ParseACLs(z.ReplaceMaskedACLs)
	if err != nil {
		return nil, fmt.Errorf("%w: %s.replace_masked_acls: %w", config.ErrInvalid, section, err)
	}
	return backupzookeeper.New(backupzookeeper.Config{Conn: conn, Profile: z.Profile, Include: z.Include, Exclude: z.Exclude,
		Containers: z.ContainerPaths, TTLs: z.TTLPaths, Concurrency: z.Concurrency, ReplaceMaskedACLs: masked, Log: log}), nil
}

// clientConfig builds the connection settings; the password is passed on
// but never printed.
func clientConfig(c config.ZooKeeperConn) (zkconn.Config, error) {
	tlsConfig, err := c.TLS.TLSConfig()
	if err != nil {
		return zkconn.Config{}, err
	}
	out := zkconn.Config{Servers: c.Servers, Chroot: c.Chroot, SessionTimeout: c.SessionTimeout,
		ConnectTimeout: c.ConnectTimeout, RequestTimeout: c.RequestTimeout, TLS: tlsConfig, Sessions: c.Sessions}
	if c.Auth != nil {
		out.DigestUser, out.DigestPassword = c.Auth.User, c.Auth.Password.Reveal()
	}
	return out, nil
}

// restorer restores into the target's zookeeper section over the source's
// connection; --force merges into existing subtrees, --wipe deletes them
// first.
func restorer(r source.RestoreRequest) (source.Restorer, error) {
	if r.Force && r.Wipe {
		return source.Restorer{}, source.Usage(errors.New("give at most one of --force (merge into zookeeper subtrees) or --wipe (delete them first)"))
	}
	conn, target, ok := r.Config.ZooKeeperTarget()
	if !ok {
		return source.Restorer{}, fmt.Errorf("%w: this snapshot has zookeeper parts: configure the target's zookeeper (or %s) to say where they go", config.ErrInvalid, section)
	}
	client, err := clientConfig(conn)
	if err != nil {
		return source.Restorer{}, err
	}
	replace, err := config.ParseACLs(target.ReplaceACLs)
	if err != nil {
		return source.Restorer{}, fmt.Errorf("%w: zookeeper.replace_acls: %w", config.ErrInvalid, err)
	}
	profile := target.Profile
	if profile == "" {
		profile = restorezookeeper.ProfileDR
	}
	servers := strings.Join(conn.Servers, ",") + conn.Chroot
	if conn.TLS != nil {
		servers += " (TLS)"
	}
	return source.Restorer{
		Restorer: restorezookeeper.New(restorezookeeper.Config{Conn: client, Profile: profile, Include: target.Include, Exclude: target.Exclude,
			PathMap: target.PathMap, Force: r.Force, Wipe: r.Wipe, ReplaceACLs: replace, MaxRequestBytes: int(target.MaxRequestBytes),
			BatchOps: target.BatchOps, BatchBytes: int(target.BatchBytes), InFlight: target.InFlight, Log: r.Log, Out: r.Out}),
		Destination: fmt.Sprintf("zookeeper %s, profile %s", servers, profile),
		Profile:     profile,
	}, nil
}

func nextSteps(restored []snapshot.Part) []source.Step {
	steps := []source.Step{{Order: 10, Text: "Zuul's [keystore] password in zuul.conf must be the one of the instance the snapshot was taken from: the restored project keys are encrypted with it and are unreadable otherwise."}}
	if slices.ContainsFunc(restored, func(p snapshot.Part) bool { return p.Name == zktree.KeysPart }) {
		steps = append(steps, source.Step{Order: 50, Text: "The zookeeper/keys part was not loaded: it is the zuul-admin export-keys file of the same keys (zuul-admin import-keys reads it)."})
	}
	return steps
}
