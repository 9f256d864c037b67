package volumes

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/restore"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// volumePart is a part that restores into volume name, with stream data.
func volumePart(t *testing.T, name string, stream []byte) snapshot.Part {
	t.Helper()
	meta, err := json.Marshal(volumespart.Meta{Kind: volumespart.KindVolume, Way: volumespart.WayDirect,
		Volume: &volumespart.VolumeMeta{Name: name, Driver: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	data[name] = stream
	return snapshot.Part{Source: volumespart.SourceName, Name: name, Meta: meta}
}

func archive(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMaliciousArchives: every hostile entry is rejected with an error
// naming it, both ways, and the target volume holds nothing afterwards,
// not even the good entries that came first.
func TestMaliciousArchives(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	good := []*tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "logs/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "logs/build.txt", Typeflag: tar.TypeReg, Size: 10},
	}
	file := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg, Size: 1} }
	cases := map[string][]*tar.Header{
		"../x":                     {file("../x")},
		"/etc/x":                   {file("/etc/x")},
		"symlink to / then a file": {{Name: "root", Typeflag: tar.TypeSymlink, Linkname: "/"}, file("root/etc/zuulstate-pwned")},
		"symlink to ../.. then a file": {
			{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../.."}, file("up/zuulstate-pwned"),
		},
		"hardlink to outside": {{Name: "pw", Typeflag: tar.TypeLink, Linkname: "../../../../etc/passwd"}},
		"device node":         {{Name: "sda", Typeflag: tar.TypeBlock, Devmajor: 8, Devminor: 0}},
	}
	for _, way := range []string{volumespart.ModeDirect, volumespart.ModeAPI} {
		r := restorer(t, eng, Config{Mode: way})
		for name, bad := range cases {
			t.Run(way+"/"+name, func(t *testing.T) {
				vol := voltest.Name("zstest-evil")
				t.Cleanup(func() { voltest.RemoveVolume(t, eng, vol) })
				p := volumePart(t, vol, archive(t, append(append([]*tar.Header{}, good...), bad...)...))
				err := restorePart(t, r, p)
				if err == nil || !strings.Contains(err.Error(), "unsafe path") {
					t.Fatalf("err = %v, want an unsafe path error", err)
				}
				t.Log(err)
				last := bad[len(bad)-1].Name
				if !strings.Contains(err.Error(), last) && !strings.Contains(err.Error(), bad[0].Linkname) {
					t.Errorf("error does not name the entry %q", last)
				}
				v, err := eng.API.VolumeInspect(t.Context(), vol)
				if err != nil {
					t.Fatal(err)
				}
				if got := list(t, v.Mountpoint); len(got) != 0 {
					t.Errorf("volume holds %q after a rejected archive", got)
				}
			})
		}
	}
	for _, p := range []string{"/etc/zuulstate-pwned", "/zuulstate-pwned"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
}

func list(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestNonEmptyTarget: Check refuses a volume with content; with Force the
// content is replaced, not merged.
func TestNonEmptyTarget(t *testing.T) {
	requireRoot(t)
	eng := voltest.Engine(t)
	for _, way := range []string{volumespart.ModeDirect, volumespart.ModeAPI} {
		t.Run(way, func(t *testing.T) {
			vol, mp := voltest.Volume(t, eng, volume.CreateOptions{})
			if err := os.WriteFile(filepath.Join(mp, "old"), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := volumePart(t, vol, archive(t, &tar.Header{Name: "new", Typeflag: tar.TypeReg, Size: 3}))
			m := metaOf(t, p)
			m.Stats.Files, m.Stats.Bytes = 1, 3
			p.Meta, _ = json.Marshal(m)
			err := restorer(t, eng, Config{Mode: way}).Check(t.Context(), p)
			if !errors.Is(err, restore.ErrTargetNotEmpty) || !strings.Contains(err.Error(), `"old"`) {
				t.Fatalf("Check = %v, want ErrTargetNotEmpty naming \"old\"", err)
			}
			if err := restorePart(t, restorer(t, eng, Config{Mode: way, Force: true}), p); err != nil {
				t.Fatal(err)
			}
			if got := list(t, mp); len(got) != 1 || got[0] != "new" {
				t.Errorf("volume = %q after --force, want only the archive's content", got)
			}
		})
	}
}

// TestStaleHelpersRemoved: a helper container left by a dead run (its
// owner's pid no longer runs) is removed by the next run; one of a live
// run is not.
func TestStaleHelpersRemoved(t *testing.T) {
	eng := voltest.Engine(t)
	img, err := eng.HelperImage(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	var made []string
	defer func() {
		ctx := context.WithoutCancel(t.Context())
		for _, id := range made {
			_ = eng.API.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
		}
		if err := eng.Finish(ctx); err != nil {
			t.Error(err)
		}
	}()
	create := func(owner string) string {
		resp, err := eng.API.ContainerCreate(t.Context(), &container.Config{Image: img, Cmd: []string{"/x"},
			Labels: map[string]string{engine.LabelHelper: "true", engine.LabelOwner: owner}}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, resp.ID)
		return resp.ID
	}
	stale := create(host + "/999999999/1")
	live := create(engine.OwnerOf(1))
	n, err := voltest.Engine(t).CleanupStale(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Another test process on the same engine may clean up first, so the
	// count can be 0; what must hold is that the stale one is gone.
	t.Logf("removed %d stale helpers", n)
	if _, err := eng.API.ContainerInspect(t.Context(), stale); !engine.IsNotFound(err) {
		t.Errorf("stale helper still there: %v", err)
	}
	if _, err := eng.API.ContainerInspect(t.Context(), live); err != nil {
		t.Errorf("helper of a live run removed: %v", err)
	}
}
