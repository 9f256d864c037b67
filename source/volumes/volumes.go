// Package volumes describes the volumes source: Docker named volumes and
// bind mounts, copied hot or cold (backup/volumes) and recreated under the
// same or mapped names (restore/volumes). What both directions share is in
// engine, volumespart and dirtar.
package volumes

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/zuulstate/zuulstate/backup"
	backupvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	"github.com/zuulstate/zuulstate/config"
	restorevolumes "github.com/zuulstate/zuulstate/restore/volumes"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// Source is the volumes source's descriptor.
var Source = source.Descriptor{
	Name:        volumespart.SourceName,
	Section:     "sources.volumes",
	RestoreRank: 0,
	Snapshotter: snapshotter,
	RunsAlone:   stopsContainers,
	Restorer:    restorer,
	NextSteps:   func([]snapshot.Part) []source.Step { return []source.Step{source.StepMounts} },
	Drill:       drill,
}

func snapshotter(cfg *config.Config, log *slog.Logger) (backup.Snapshotter, error) {
	v := cfg.Sources.Volumes
	if v == nil {
		return nil, nil
	}
	conn, err := engineConn(v.Docker)
	if err != nil {
		return nil, err
	}
	c := backupvolumes.Config{Conn: conn, Mode: v.Mode, StopTimeout: v.StopTimeout, Log: log}
	for _, it := range v.Volumes {
		c.Volumes = append(c.Volumes, backupvolumes.VolumeSel{Name: it.Name, Label: it.Label, Exclude: it.Exclude, Stop: it.Stop, Mode: it.Mode})
	}
	for _, it := range v.Containers {
		c.Containers = append(c.Containers, backupvolumes.ContainerSel{Name: it.Name, Exclude: it.Exclude, Stop: it.Stop, Mode: it.Mode})
	}
	return backupvolumes.New(c), nil
}

// stopsContainers: a cold copy (stop: true) of zuul_mariadb's or
// zuul_zookeeper's mounts would break a dump of the same server, so such a
// source runs after the logical dumps.
func stopsContainers(cfg *config.Config) bool {
	v := cfg.Sources.Volumes
	if v == nil {
		return false
	}
	return slices.ContainsFunc(v.Volumes, func(it config.VolumeItem) bool { return it.Stop }) ||
		slices.ContainsFunc(v.Containers, func(it config.ContainerItem) bool { return it.Stop })
}

func engineConn(d config.DockerConn) (engine.Conn, error) {
	tlsConfig, err := d.TLS.TLSConfig()
	return engine.Conn{Host: d.Host, TLS: tlsConfig}, err
}

// restorer restores into the target's engine, volume_map and bind_map
// extended by --volume-map and --bind-map.
func restorer(r source.RestoreRequest) (source.Restorer, error) {
	docker := r.Config.VolumesEngine()
	conn, err := engineConn(docker)
	if err != nil {
		return source.Restorer{}, err
	}
	c := restorevolumes.Config{Conn: conn, Force: r.Force, AllowDevices: r.AllowDevices, Log: r.Log, Out: r.Out,
		VolumeMap: map[string]string{}, BindMap: map[string]string{}}
	if t := r.Config.Restore.Volumes; t != nil {
		c.Mode, c.HelperBinary, c.AllowDevices = t.Mode, t.HelperBinary, t.AllowDevices || r.AllowDevices
		maps.Copy(c.VolumeMap, t.VolumeMap)
		maps.Copy(c.BindMap, t.BindMap)
	}
	maps.Copy(c.VolumeMap, r.VolumeMap)
	maps.Copy(c.BindMap, r.BindMap)
	dest := docker.Host
	if dest == "" {
		dest = "from DOCKER_HOST or the local socket"
	}
	for _, m := range []map[string]string{c.VolumeMap, c.BindMap} {
		for _, from := range slices.Sorted(maps.Keys(m)) {
			dest += fmt.Sprintf(", %s → %s", from, m[from])
		}
	}
	return source.Restorer{Restorer: restorevolumes.New(c), Destination: "docker engine " + dest}, nil
}
