package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"filippo.io/age"
)

// generate writes the input once: half log-like text, a quarter random
// bytes (already-compressed artifacts), a quarter alternating zero runs and
// random blocks.
func generate(dir string, size int64) error {
	marker := filepath.Join(dir, fmt.Sprintf(".complete-%d", size))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(42, 7))
	words := strings.Fields("zuul executor build job pipeline gate check merge ansible task ok changed failed skipped " +
		"localhost node ubuntu-jammy tox py311 unit functional docs post-run pre-run playbook role returned")
	err := writeFile(filepath.Join(dir, "logs.txt"), size/2, func(w *bufio.Writer) {
		fmt.Fprintf(w, "2026-11-25 21:%02d:%02d.%06d | %s | ", r.IntN(60), r.IntN(60), r.IntN(1e6), words[r.IntN(len(words))])
		for range 4 + r.IntN(12) {
			w.WriteString(words[r.IntN(len(words))])
			w.WriteByte(' ')
		}
		fmt.Fprintf(w, "%x\n", r.Uint64())
	})
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	if err := writeFile(filepath.Join(dir, "random.bin"), size/4, func(w *bufio.Writer) {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		w.Write(buf)
	}); err != nil {
		return err
	}
	zero := make([]byte, 64<<10)
	n := 0
	if err := writeFile(filepath.Join(dir, "mixed.bin"), size-size/2-size/4, func(w *bufio.Writer) {
		n++
		if n%2 == 0 {
			w.Write(zero)
			return
		}
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		w.Write(buf)
	}); err != nil {
		return err
	}
	return os.WriteFile(marker, nil, 0o644)
}

func writeFile(path string, size int64, chunk func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	for int64(w.Buffered())+fileSize(f) < size {
		chunk(w)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Truncate(size)
}

func fileSize(f *os.File) int64 {
	off, _ := f.Seek(0, 1)
	return off
}

type variant struct {
	name, config string
	env          []string
}

// writeConfigs writes one zuulstate config per variant. The S3 variants use
// the dev-services MinIO; credentials go through the environment.
func writeConfigs(work, data string, withS3 bool) ([]variant, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	repo := filepath.Join(work, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return nil, err
	}
	sources := fmt.Sprintf("sources:\n  paths:\n    - name: data\n      path: %s\n", data)
	enc := fmt.Sprintf("  encryption:\n    recipients: [%s]\n", id.Recipient())
	local := fmt.Sprintf("repository:\n  local:\n    path: %s\n", repo)
	var vs []variant
	add := func(name, body string, env []string) error {
		path := filepath.Join(work, strings.ReplaceAll(name, " ", "-")+".yaml")
		vs = append(vs, variant{name: "zuulstate " + name, config: path, env: env})
		return os.WriteFile(path, []byte(body+sources), 0o600)
	}
	// A local repository in RAM takes the disk out of the comparison with
	// the /dev/null baseline: it measures the pipeline's own CPU cost.
	shm := "/dev/shm/zuulstate-bench-repo"
	if err := os.MkdirAll(shm, 0o700); err != nil {
		return nil, err
	}
	if err := add("tmpfs sha256+zstd", fmt.Sprintf("repository:\n  local:\n    path: %s\n", shm), nil); err != nil {
		return nil, err
	}
	if err := add("tmpfs sha256+zstd+age", fmt.Sprintf("repository:\n  local:\n    path: %s\n", shm)+enc, nil); err != nil {
		return nil, err
	}
	if err := add("local sha256+zstd", local, nil); err != nil {
		return nil, err
	}
	if err := add("local sha256+zstd+age", local+enc, nil); err != nil {
		return nil, err
	}
	if withS3 {
		ep, bucket, ca := os.Getenv("ZUULSTATE_TEST_S3_ENDPOINT"), os.Getenv("ZUULSTATE_TEST_S3_BUCKET"), os.Getenv("ZUULSTATE_TEST_S3_CA_FILE")
		if ep == "" {
			return nil, fmt.Errorf("ZUULSTATE_TEST_S3_ENDPOINT is empty: run eval \"$(scripts/dev-services.sh env)\" or pass -s3=false")
		}
		s3 := fmt.Sprintf("repository:\n  s3:\n    endpoint: %s\n    bucket: %s\n    prefix: bench/\n    ca_file: %s\n    lookup: path\n", ep, bucket, ca)
		env := []string{"ZUULSTATE_S3_ACCESS_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_ACCESS_KEY"), "ZUULSTATE_S3_SECRET_KEY=" + os.Getenv("ZUULSTATE_TEST_S3_SECRET_KEY")}
		if err := add("MinIO sha256+zstd", s3, env); err != nil {
			return nil, err
		}
		if err := add("MinIO sha256+zstd+age", s3+enc, env); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func diff(before, after []string) []string {
	var out []string
	for _, a := range after {
		if !slices.Contains(before, a) && !strings.HasPrefix(a, "go-build") {
			out = append(out, a)
		}
	}
	return out
}

// strayLocalFiles finds anything in the local repository that is neither a
// manifest, a part nor a lock: a leftover temporary file would show here.
func strayLocalFiles(repo string) []string {
	var stray []string
	_ = filepath.WalkDir(repo, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		if !strings.HasPrefix(rel, "manifests/") && !strings.HasPrefix(rel, "parts/") {
			stray = append(stray, rel)
		}
		return nil
	})
	return stray
}

func numCPU() int { return runtime.NumCPU() }
