package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The log tree is a sliding window of builds [Low, High): build i always
// has the same path and content, so a night adds builds at High and
// removes them at Low, and the next invocation of the benchmark continues
// from where the last one stopped instead of deleting and rewriting a
// gigabyte (mass deletes slow down file creation on this disk for
// minutes, see BENCHMARKS.md). A build's path starts with two hex digits
// of its uuid, as Zuul's log paths do, so new builds sort in among the
// old ones, not after them.
type window struct {
	Builds int   `json:"builds"` // builds in the tree
	Low    int   `json:"low"`
	High   int   `json:"high"`
	Seed   int64 `json:"seed"`
}

var (
	pipelines = []string{"check", "gate", "post", "periodic", "promote", "experimental"}
	jobNames  = []string{"openstack-tox-py311", "openstack-tox-pep8", "tempest-full-py3", "devstack-platform-ubuntu-jammy",
		"nova-grenade-multinode", "zuul-tox-py311", "build-openstack-sphinx-docs", "tox-linters", "system-config-run-zuul"}
)

// buildPath is build i's directory relative to the tree:
// <2 hex>/<change>/<patchset>/<pipeline>/<job>/<uuid7>.
func buildPath(seed int64, i int) string {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
	uuid := fmt.Sprintf("%016x", r.Uint64())
	change := 800000 + r.IntN(200000)
	return filepath.Join(uuid[:2], fmt.Sprint(change), fmt.Sprint(1+r.IntN(20)), pipelines[r.IntN(len(pipelines))],
		jobNames[r.IntN(len(jobNames))], uuid[:7])
}

// writeBuild writes build i: job-output.txt (the largest file; 3% of
// builds have one of several MiB), job-output.json, zuul-info/ and ara/.
// The mean is about 512 KiB per build.
func writeBuild(root string, seed int64, i int) (int64, error) {
	dir := filepath.Join(root, buildPath(seed, i))
	r := rand.New(rand.NewPCG(uint64(seed)^0x5eed, uint64(i)))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Minute)
	txt := int64(math.Exp(math.Log(160<<10) + 0.8*r.NormFloat64()))
	txt = min(max(txt, 8<<10), 1536<<10)
	if r.IntN(100) < 3 {
		txt = int64(2<<20 + r.IntN(6<<20))
	}
	files := []struct {
		name string
		size int64
		line func(*textWriter)
	}{
		{"job-output.txt", txt, (*textWriter).jobOutputLine},
		{"job-output.json", txt * 35 / 100, (*textWriter).jsonLine},
		{"zuul-info/inventory.yaml", int64(2<<10 + r.IntN(4<<10)), (*textWriter).yamlLine},
		{"zuul-info/zuul-info.controller.txt", int64(1<<10 + r.IntN(2<<10)), (*textWriter).jobOutputLine},
		{"zuul-info/host-info.controller.yaml", int64(15<<10 + r.IntN(25<<10)), (*textWriter).yamlLine},
		{"ara/ansible.log", int64(5<<10 + r.IntN(20<<10)), (*textWriter).jobOutputLine},
	}
	for k := range 2 + r.IntN(4) {
		files = append(files, struct {
			name string
			size int64
			line func(*textWriter)
		}{fmt.Sprintf("ara/playbook-%d.html", k), int64(4<<10 + r.IntN(20<<10)), (*textWriter).yamlLine})
	}
	var total int64
	for _, f := range files {
		if err := writeText(filepath.Join(dir, f.name), f.size, r, start, f.line); err != nil {
			return total, err
		}
		total += f.size
	}
	return total, nil
}

func writeText(path string, size int64, r *rand.Rand, start time.Time, line func(*textWriter)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	t := newTextWriter(w, r, start)
	var written int64
	for written < size {
		before := w.Buffered()
		line(t)
		written += int64(w.Buffered() - before)
		if w.Buffered() > 128<<10 {
			if err := w.Flush(); err != nil {
				f.Close()
				return err
			}
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeBuild deletes build i and the directories it leaves empty.
func removeBuild(root string, seed int64, i int) error {
	rel := buildPath(seed, i)
	if err := os.RemoveAll(filepath.Join(root, rel)); err != nil {
		return err
	}
	for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
		err := os.Remove(filepath.Join(root, d))
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return nil // another build shares it
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loadTree returns the tree's window if the tree holds exactly the builds
// the state file says, else nil.
func loadTree(root, stateFile string, builds int) *window {
	data, err := os.ReadFile(stateFile)
	if err != nil {
		return nil
	}
	var w window
	if json.Unmarshal(data, &w) != nil || w.Builds != builds || w.High-w.Low != builds {
		return nil
	}
	want := make([]string, 0, builds)
	for i := w.Low; i < w.High; i++ {
		want = append(want, buildPath(w.Seed, i))
	}
	var have []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Count(rel, string(filepath.Separator)) == 5 {
			have = append(have, rel)
			return filepath.SkipDir
		}
		return nil
	})
	slices.Sort(want)
	slices.Sort(have)
	if err != nil || !slices.Equal(want, have) {
		return nil
	}
	return &w
}

func (w *window) save(stateFile string) error {
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	tmp := stateFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, stateFile)
}

// advance is one night: n new builds at High, the n oldest removed.
func (w *window) advance(root, stateFile string, n int) error {
	for i := w.High; i < w.High+n; i++ {
		if _, err := writeBuild(root, w.Seed, i); err != nil {
			return err
		}
	}
	for i := w.Low; i < w.Low+n; i++ {
		if err := removeBuild(root, w.Seed, i); err != nil {
			return err
		}
	}
	w.Low, w.High = w.Low+n, w.High+n
	return w.save(stateFile)
}

// prepareTree makes sure root holds a window of builds, generating it
// when it is missing or does not match its state file. It reports whether
// it deleted an old tree (the caller lets the file system settle).
func prepareTree(root string, builds int) (*window, bool, error) {
	stateFile := root + ".state.json"
	if w := loadTree(root, stateFile, builds); w != nil {
		return w, false, nil
	}
	_, statErr := os.Stat(root)
	deleted := statErr == nil
	if err := os.RemoveAll(root); err != nil {
		return nil, false, err
	}
	if err := os.Remove(stateFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	fmt.Fprintf(os.Stderr, "benchnightly: generating %d builds of logs in %s\n", builds, root)
	w := &window{Builds: builds, High: builds, Seed: 12}
	for i := range builds {
		if _, err := writeBuild(root, w.Seed, i); err != nil {
			return nil, false, err
		}
	}
	return w, deleted, w.save(stateFile)
}
