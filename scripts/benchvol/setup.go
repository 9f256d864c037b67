package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	smallFiles = 50_000
	marker     = ".zuulstate-bench-complete"
)

// prepareVolume creates and fills the input volume once: 50 000 small
// files (1-20 KiB, build-log-like text) in 500 directories, two large
// files (log text and incompressible bytes) and a sparse file, about
// 2 GiB of data. It returns the mountpoint and the logical size.
func prepareVolume(ctx context.Context, vol string) (string, int64, error) {
	out, err := exec.CommandContext(ctx, "docker", "volume", "inspect", "-f", "{{.Mountpoint}}", vol).Output()
	if err != nil {
		if err := exec.CommandContext(ctx, "docker", "volume", "create", vol).Run(); err != nil {
			return "", 0, fmt.Errorf("docker volume create %s: %w", vol, err)
		}
		if out, err = exec.CommandContext(ctx, "docker", "volume", "inspect", "-f", "{{.Mountpoint}}", vol).Output(); err != nil {
			return "", 0, err
		}
	}
	mp := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(mp, marker)); err != nil {
		fmt.Println("generating the input volume (once)...")
		if err := fill(mp); err != nil {
			return "", 0, err
		}
	}
	var size int64
	err = filepath.Walk(mp, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return err
	})
	return mp, size, err
}

func fill(mp string) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range smallFiles {
		dir := filepath.Join(mp, "builds", fmt.Sprintf("%03d", i%500))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		size := 1<<10 + rng.IntN(19<<10)
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("job-%05d.log", i)), int64(size), logText(rng)); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(mp, "large-log.txt"), 700<<20, logText(rng)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(mp, "large-random.bin"), 500<<20, func(w *bufio.Writer) {
		var b [8]byte
		for range 4096 {
			v := rng.Uint64()
			for i := range b {
				b[i] = byte(v >> (8 * i))
			}
			w.Write(b[:])
		}
	}); err != nil {
		return err
	}
	// Sparse: 1 GiB logical, 256 MiB of data in four 64 MiB extents.
	f, err := os.Create(filepath.Join(mp, "sparse.img"))
	if err != nil {
		return err
	}
	chunk := make([]byte, 64<<20)
	for i := range chunk {
		chunk[i] = byte(rng.IntN(16))
	}
	for k := range int64(4) {
		if _, err := f.WriteAt(chunk, k*256<<20); err != nil {
			return err
		}
	}
	if err := f.Truncate(1 << 30); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(mp, marker), nil, 0o644)
}

// logText returns a chunk writer of build-log-like lines.
func logText(rng *rand.Rand) func(*bufio.Writer) {
	words := []string{"INFO", "DEBUG", "zuul.Executor", "ansible", "TASK [run tests]", "ok:", "changed:", "node-0001", "build", "PASSED", "test_"}
	return func(w *bufio.Writer) {
		for range 64 {
			fmt.Fprintf(w, "2026-11-25 21:%02d:%02d.%06d %s %s %d\n", rng.IntN(60), rng.IntN(60), rng.IntN(1e6),
				words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.Uint32())
		}
	}
}

func writeFile(path string, size int64, chunk func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for int64(w.Buffered())+fileSize(f) < size {
		chunk(w)
		if w.Buffered() > 512<<10 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Close()
}

func fileSize(f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// writeConfig writes the zuulstate configuration of one way.
func writeConfig(work, way, vol string) (string, error) {
	repo := filepath.Join(work, "repo-"+way)
	body := fmt.Sprintf("repository:\n  local:\n    path: %s\nsources:\n  volumes:\n    mode: %s\n    volumes:\n      - name: %s\nrestore:\n  volumes:\n    mode: %s\n",
		repo, way, vol, way)
	p := filepath.Join(work, way+".yaml")
	return p, os.WriteFile(p, []byte(body), 0o600)
}

// resetRepo empties a way's repository between backup runs (the last
// snapshot stays for the restore runs).
func resetRepo(work, way string) error { return fresh(filepath.Join(work, "repo-"+way)) }

func fresh(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// cleanupRestores deletes the restore directories and volumes of this and
// earlier invocations and says how many there were.
func cleanupRestores(ctx context.Context, work, target string) (int, error) {
	dirs, _ := filepath.Glob(filepath.Join(work, "restore*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return 0, err
		}
	}
	out, err := exec.CommandContext(ctx, "docker", "volume", "ls", "-q", "--filter", "name="+target).Output()
	if err != nil {
		return 0, fmt.Errorf("docker volume ls: %w", err)
	}
	names := strings.Fields(string(out))
	for _, name := range names {
		if err := removeVolume(ctx, name); err != nil {
			return 0, fmt.Errorf("remove volume %s: %w", name, err)
		}
	}
	return len(dirs) + len(names), nil
}

func removeVolume(ctx context.Context, name string) error {
	cmd := exec.CommandContext(ctx, "docker", "volume", "rm", "-f", name)
	cmd.Stdout, cmd.Stderr = nil, nil
	return cmd.Run()
}
