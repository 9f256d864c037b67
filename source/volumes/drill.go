package volumes

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	restorevolumes "github.com/zuulstate/zuulstate/restore/volumes"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// drillScratch restores every named volume as a scratch volume on the
// target's engine (a plain local one: recorded driver options may point at
// the original's storage) and every bind path below the drill's directory,
// which the drill removes with everything in it.
type drillScratch struct {
	r      source.DrillRequest
	config restorevolumes.Config
	admin  *restorevolumes.Restorer
	built  *restorevolumes.Restorer
	where  string
}

func drill(r source.DrillRequest) (source.Scratch, error) {
	docker := r.Config.VolumesEngine()
	conn, err := engineConn(docker)
	if err != nil {
		return nil, err
	}
	c := restorevolumes.Config{Conn: conn, PlainVolumes: true, Log: r.Log, Out: r.Out}
	if t := r.Config.Restore.Volumes; t != nil {
		c.Mode, c.HelperBinary, c.AllowDevices = t.Mode, t.HelperBinary, t.AllowDevices
	}
	where := "docker engine " + docker.Host
	if docker.Host == "" {
		where = "the docker engine of DOCKER_HOST or the local socket"
	}
	return &drillScratch{r: r, config: c, admin: restorevolumes.New(c), where: where}, nil
}

// bindDir is where bind paths go below the drill's directory.
const bindDir = "binds"

func (d *drillScratch) Plan(ctx context.Context, parts []snapshot.Part) (source.ScratchPlan, error) {
	volumes, binds, err := restorevolumes.Targets(parts)
	if err != nil {
		return source.ScratchPlan{}, err
	}
	c := d.config
	c.VolumeMap, c.BindMap = map[string]string{}, map[string]string{}
	var names []source.ScratchName
	for _, v := range volumes {
		scratch := source.ScratchNameFor(d.r.Prefix, v, "-.", 255)
		c.VolumeMap[v] = scratch
		names = append(names, source.ScratchName{Source: Source.Name, Kind: "volume", Name: scratch, Where: d.where})
	}
	dest := d.where + ", volumes renamed " + d.r.Prefix + "…"
	if len(binds) > 0 {
		// The drill's directory is on this machine: bind paths created
		// by an engine elsewhere would be out of its reach.
		local, host, err := d.admin.LocalEngine(ctx)
		if err != nil {
			return source.ScratchPlan{}, err
		}
		if !local {
			return source.ScratchPlan{}, source.Usage(fmt.Errorf("the snapshot has bind mounts (%s, …), which a drill restores below its directory on this machine, "+
				"but the engine at %s is on another: run the drill on the Docker host", binds[0], host))
		}
		for _, b := range binds {
			c.BindMap[b] = filepath.Join(d.r.Dir, bindDir, b)
		}
		dest += ", bind paths below " + filepath.Join(d.r.Dir, bindDir)
	}
	d.built = restorevolumes.New(c)
	return source.ScratchPlan{Restorer: d.built, Destination: dest, Names: names}, nil
}

func (d *drillScratch) Existing(ctx context.Context, names []source.ScratchName) ([]source.ScratchName, error) {
	found, err := d.admin.ExistingVolumes(ctx, source.Names(names))
	if err != nil {
		return nil, err
	}
	return source.Pick(names, found), nil
}

func (d *drillScratch) Remove(ctx context.Context, names []source.ScratchName) error {
	if err := source.RefuseForeign(names); err != nil {
		return err
	}
	// The restorer's helpers may still mount the volumes.
	err := d.closeBuilt()
	for _, n := range names {
		err = errors.Join(err, d.admin.RemoveVolume(ctx, n.Name))
	}
	return err
}

func (d *drillScratch) closeBuilt() error {
	if d.built == nil {
		return nil
	}
	err := d.built.Close()
	d.built = nil
	return err
}

func (d *drillScratch) Close() error { return errors.Join(d.closeBuilt(), d.admin.Close()) }
