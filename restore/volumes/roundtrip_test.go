package volumes

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	bvolumes "github.com/zuulstate/zuulstate/backup/volumes"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

const hugeSparse = 9 << 30 // over the 8 GiB ustar size limit

var apiLosses = voltest.Losses{MtimeNsec: true, Xattrs: true, Holes: true}

// TestRoundTripDirect: a named volume and a bind mount, both selected as
// "every mount of container X", backed up and restored the direct way
// (to a renamed volume and a moved bind path) keep everything.
func TestRoundTripDirect(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{Labels: map[string]string{"app": "zuul"}})
	voltest.BuildTree(t, mp, hugeSparse)
	bind := filepath.Join(t.TempDir(), "certs")
	voltest.BuildTree(t, bind, 1<<20)
	img := voltest.WriterImage(t, eng)
	_, c := voltest.Container(t, eng, img, []mount.Mount{
		{Type: mount.TypeVolume, Source: vol, Target: "/logs"},
		{Type: mount.TypeBind, Source: bind, Target: "/etc/certs", ReadOnly: true},
	}, nil)

	parts := backupParts(t, eng, bvolumes.Config{Containers: []bvolumes.ContainerSel{{Name: c}}})
	if len(parts) != 2 {
		t.Fatalf("parts = %d, want 2 (volume and bind)", len(parts))
	}
	for _, p := range parts {
		m := metaOf(t, p)
		if m.Way != volumespart.WayDirect || len(m.Lost) != 0 {
			t.Errorf("%s: way %s, lost %v; want direct, nothing lost", p.Name, m.Way, m.Lost)
		}
		if len(m.Mounts) != 1 || m.Mounts[0].Container != c {
			t.Errorf("%s: mounts = %+v, want the container's mount", p.Name, m.Mounts)
		}
	}
	if p := parts[0]; p.RawSize > 64<<20 {
		t.Errorf("volume part is %d bytes: the 9 GiB sparse file was not stored sparse", p.RawSize)
	}

	newVol := voltest.Name("zstest-restored")
	t.Cleanup(func() { voltest.RemoveVolume(t, eng, newVol) })
	newBind := filepath.Join(t.TempDir(), "restored-certs")
	r := restorer(t, eng, Config{AllowDevices: true, VolumeMap: map[string]string{vol: newVol},
		BindMap: map[string]string{filepath.Dir(bind): filepath.Dir(newBind)}})
	for _, p := range parts {
		if err := restorePart(t, r, p); err != nil {
			t.Fatal(err)
		}
	}
	v, err := eng.API.VolumeInspect(t.Context(), newVol)
	if err != nil {
		t.Fatal(err)
	}
	if v.Labels["app"] != "zuul" || v.Labels[voltest.LabelTest] != "true" {
		t.Errorf("restored volume labels = %v", v.Labels)
	}
	voltest.Compare(t, voltest.Scan(t, mp), voltest.Scan(t, v.Mountpoint))
	voltest.Compare(t, voltest.Scan(t, bind), voltest.Scan(t, filepath.Join(filepath.Dir(newBind), "certs")))
}

// TestRoundTripAPI: the engine-API way loses exactly what it documents
// on the way out, and nothing on the way in (zuulstate's own extractor
// runs in the helper): a direct backup restored through the API is
// complete.
func TestRoundTripAPI(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{})
	voltest.BuildTree(t, mp, 64<<20)
	want := voltest.Scan(t, mp)

	for _, way := range []string{volumespart.ModeAPI, volumespart.ModeDirect} {
		t.Run("backup "+way, func(t *testing.T) {
			parts := backupParts(t, eng, bvolumes.Config{Mode: way, Volumes: []bvolumes.VolumeSel{{Name: vol}}})
			m := metaOf(t, parts[0])
			wantLost := []string(nil)
			if way == volumespart.ModeAPI {
				wantLost = volumespart.LostByAPI
			}
			if m.Way != way || !slices.Equal(m.Lost, wantLost) {
				t.Errorf("way %s lost %v, want %s lost %v", m.Way, m.Lost, way, wantLost)
			}
			newVol := voltest.Name("zstest-api")
			t.Cleanup(func() { voltest.RemoveVolume(t, eng, newVol) })
			r := restorer(t, eng, Config{Mode: volumespart.ModeAPI, AllowDevices: true, VolumeMap: map[string]string{vol: newVol}})
			if err := restorePart(t, r, parts[0]); err != nil {
				t.Fatal(err)
			}
			got := restoredScan(t, r, parts[0])
			if way == volumespart.ModeAPI {
				voltest.Compare(t, apiLosses.Degrade(want), got)
			} else {
				voltest.Compare(t, want, got)
			}
		})
	}
}

func restoredScan(t *testing.T, r *Restorer, p snapshot.Part) map[string]voltest.Entry {
	t.Helper()
	tg, err := r.resolve(t.Context(), r.eng, p)
	if err != nil {
		t.Fatal(err)
	}
	return voltest.Scan(t, tg.path)
}

// TestDriverOptionsRoundTrip: a local volume with driver options (bound
// to a host directory) goes the API way on its own (its mountpoint is
// only mounted while in use) and comes back with the same driver, options
// and labels, its data in place.
func TestDriverOptionsRoundTrip(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	device := t.TempDir()
	opts := map[string]string{"type": "none", "o": "bind", "device": device}
	vol, _ := voltest.Volume(t, eng, volume.CreateOptions{DriverOpts: opts, Labels: map[string]string{"tier": "logs"}})
	voltest.BuildTree(t, device, 1<<20)
	want := voltest.Scan(t, device)
	parts := backupParts(t, eng, bvolumes.Config{Volumes: []bvolumes.VolumeSel{{Name: vol}}})
	if m := metaOf(t, parts[0]); m.Way != volumespart.WayAPI || !maps.Equal(m.Volume.DriverOpts, opts) {
		t.Fatalf("way %s, driver options %v; want api and %v", m.Way, m.Volume.DriverOpts, opts)
	}
	voltest.RemoveVolume(t, eng, vol)
	if err := os.RemoveAll(device); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(device, 0o755); err != nil {
		t.Fatal(err)
	}
	r := restorer(t, eng, Config{AllowDevices: true})
	if err := restorePart(t, r, parts[0]); err != nil {
		t.Fatal(err)
	}
	v, err := eng.API.VolumeInspect(t.Context(), vol)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(v.Options, opts) || v.Labels["tier"] != "logs" {
		t.Errorf("restored volume: options %v labels %v", v.Options, v.Labels)
	}
	voltest.Compare(t, apiLosses.Degrade(want), voltest.Scan(t, device))
}
