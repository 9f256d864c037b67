package volumes

import (
	"testing"

	"github.com/docker/docker/api/types/volume"

	bvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	"github.com/zuulstate/zuulstate/internal/voltest"
)

// TestPlainVolumes: a drill's scratch volume of a volume bound to a host
// directory (driver options) is a plain local volume without the recorded
// options and labels: the data lands in it, never in the original's
// directory. Targets, ExistingVolumes and RemoveVolume see and remove it.
func TestPlainVolumes(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	device := t.TempDir()
	vol, _ := voltest.Volume(t, eng, volume.CreateOptions{DriverOpts: map[string]string{"type": "none", "o": "bind", "device": device},
		Labels: map[string]string{"com.docker.compose.project": "zuul"}})
	voltest.BuildTree(t, device, 1<<20)
	want := voltest.Scan(t, device)
	parts := backupParts(t, eng, bvolumes.Config{Volumes: []bvolumes.VolumeSel{{Name: vol}}})
	if vols, binds, err := Targets(parts); err != nil || len(vols) != 1 || vols[0] != vol || len(binds) != 0 {
		t.Fatalf("targets %v %v %v", vols, binds, err)
	}
	scratch := voltest.Name("zuulstate_drill_test")
	t.Cleanup(func() { voltest.RemoveVolume(t, eng, scratch) })
	r := restorer(t, eng, Config{AllowDevices: true, PlainVolumes: true, VolumeMap: map[string]string{vol: scratch}})
	if err := restorePart(t, r, parts[0]); err != nil {
		t.Fatal(err)
	}
	v, err := eng.API.VolumeInspect(t.Context(), scratch)
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != "local" || len(v.Options) > 0 || len(v.Labels) > 0 {
		t.Errorf("scratch volume: driver %s options %v labels %v", v.Driver, v.Options, v.Labels)
	}
	voltest.Compare(t, apiLosses.Degrade(want), voltest.Scan(t, v.Mountpoint))
	voltest.Compare(t, want, voltest.Scan(t, device))
	if got, err := r.ExistingVolumes(t.Context(), []string{scratch, scratch + "-not"}); err != nil || len(got) != 1 {
		t.Fatalf("existing %v %v", got, err)
	}
	if err := r.RemoveVolume(t.Context(), scratch); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ExistingVolumes(t.Context(), []string{scratch}); err != nil || len(got) != 0 {
		t.Fatalf("after removal: %v %v", got, err)
	}
	if err := r.RemoveVolume(t.Context(), scratch); err != nil {
		t.Errorf("removing a removed volume: %v", err)
	}
}
