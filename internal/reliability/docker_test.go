package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/dockertest"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
)

// TestDockerRestart restarts a private Docker engine while the volumes
// source copies a volume through the engine API (mode api: the bytes come
// out of the engine) with its container stopped for a cold copy. The run
// fails with one line naming the engine, leaves no snapshot, part or lock;
// the container, which the engine restart itself leaves exited, is started
// again by the next run at the latest (its stop mark survives on the
// engine).
func TestDockerRestart(t *testing.T) {
	d := dockertest.Start(t)
	eng, err := engine.Connect(t.Context(), engine.Conn{Host: d.Host}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{})
	writeFiles(t, mp, size{files: 300, fileBytes: 2 << 20}, 3)
	id, name := voltest.Container(t, eng, voltest.WriterImage(t, eng), []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/data"}}, nil)
	if err := eng.API.ContainerStart(t.Context(), id, containerStart); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.Mkdir(repo, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "zuulstate.yaml")
	body := fmt.Sprintf("repository:\n  local: {path: %s}\nsources:\n  volumes:\n    docker: {host: %s}\n    mode: api\n    stop_timeout: 5s\n    containers:\n      - name: %s\n        stop: true\n",
		repo, d.Host, name)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"ZUULSTATE_CONFIG=" + cfg}

	for _, how := range []string{"stop", "kill"} {
		cmd, lw := start(t, env, "backup")
		lw.await(t, "copying")
		time.Sleep(300 * time.Millisecond)
		begin := time.Now()
		if how == "stop" {
			d.Stop() // SIGTERM: the engine finishes open requests first
		} else {
			d.Kill() // SIGKILL: the copy's stream breaks off
		}
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		down := time.Since(begin)
		r := resultOf(t, cmd, cmd.Wait())
		line := r.expectFail(t, exitFailure, "docker", "volumes")
		if ids := snapshotIDs(t, env); len(ids) != 0 {
			t.Fatalf("%s: snapshots after the failed run: %v", how, ids)
		}
		if keys, _ := repoKeys(t, repo, ""); len(withoutStatus(keys)) != 0 {
			t.Errorf("%s: the failed run left %v", how, keys)
		}
		restartedByRun := voltest.Running(t, eng, id)

		// The next run starts the container (if the failed run could not)
		// and succeeds.
		out := run(t, env, "backup")
		out.expectOK(t, "backup after the engine restart")
		if !voltest.Running(t, eng, id) || stopMarks(t, eng, id) != 0 {
			t.Fatalf("%s: the container is not running after the next run, or its stop mark is left", how)
		}
		voltest.NoHelpers(t, eng, "") // the next run removed the dead run's helpers
		run(t, env, "prune", "--keep-last", "100", "--orphan-grace", "0s").expectOK(t, "prune")
		t.Logf("engine %s mid-copy (down %s): %s; container running after the failed run: %v, after the next run: true",
			how, down.Round(time.Millisecond), line, restartedByRun)
		_ = os.RemoveAll(repo)
		_ = os.Mkdir(repo, 0o700)
	}
}
