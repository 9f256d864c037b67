package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// filesBench is the files scenario: the log tree backed up every night by
// zuulstate (paths source, format 3), restic, and on nights 1 and 7 by
// zuulstate in format 2; then the last night restored by each.
type filesBench struct {
	*bench
	tree     string
	w        *window
	perNight int
	f3, f2   *zuulstate
	restic   *restic
	rep      *report
}

func (b *bench) runFiles(ctx context.Context) (*report, error) {
	dir := filepath.Join(b.work, "files")
	fb := &filesBench{bench: b, tree: filepath.Join(b.work, "logs")}
	builds := max(10, int(2200*b.scale+0.5))
	fb.perNight = max(1, (builds+50)/100)
	w, deleted, err := prepareTree(fb.tree, builds)
	if err != nil {
		return nil, err
	}
	fb.w = w
	// Restores of an earlier invocation that stopped before cleaning up
	// are deleted now, and the file system gets time to settle before
	// anything creates files (see BENCHMARKS.md, issue 5's restore notes).
	_, statErr := os.Stat(filepath.Join(dir, "restore"))
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if deleted || statErr == nil {
		b.settle()
	}
	sources := pathsSource(fb.tree)
	if fb.f3, err = newZuulstate(filepath.Join(dir, "zuulstate-f3"), b.bin, b.key, true, sources); err != nil {
		return nil, err
	}
	if fb.f2, err = newZuulstate(filepath.Join(dir, "zuulstate-f2"), b.bin, b.key, false, sources); err != nil {
		return nil, err
	}
	if fb.restic, err = newRestic(ctx, filepath.Join(dir, "restic")); err != nil {
		return nil, err
	}
	size, files, err := treeSize(fb.tree)
	if err != nil {
		return nil, err
	}
	fb.rep = &report{scenario: "files", input: fmt.Sprintf("%d builds, %d files, %.0f MiB; %d builds added and removed per night",
		builds, files, float64(size)/(1<<20), fb.perNight)}
	// Every variant reads the tree from the page cache.
	if _, err := run(ctx, nil, "tar", "-C", fb.tree, "-cf", "/dev/null", "."); err != nil {
		return nil, err
	}
	for n := 1; n <= nights; n++ {
		if n > 1 {
			if err := fb.w.advance(fb.tree, fb.tree+".state.json", fb.perNight); err != nil {
				return nil, err
			}
		}
		if err := fb.night(ctx, n); err != nil {
			return nil, fmt.Errorf("night %d: %w", n, err)
		}
	}
	if fb.rep.zsState, err = diskUsage(ctx, fb.f3.state); err != nil {
		return nil, err
	}
	if fb.rep.rsCache, err = diskUsage(ctx, fb.restic.cache); err != nil {
		return nil, err
	}
	if fb.rep.restoredBytes, _, err = treeSize(fb.tree); err != nil {
		return nil, err
	}
	if err := fb.restores(ctx, filepath.Join(dir, "restore")); err != nil {
		return nil, err
	}
	// The restores go now, while nothing else is measured.
	if err := os.RemoveAll(filepath.Join(dir, "restore")); err != nil {
		return nil, err
	}
	syscall.Sync()
	return fb.rep, nil
}

// night runs one night's backups, zuulstate and restic taking turns at
// going first. Night 1 also pairs format 3 against format 2 -runs times
// (each pair into fresh repositories; the first pair's are the nightly
// ones), and night 7 adds a format 2 snapshot for the restore comparison.
func (fb *filesBench) night(ctx context.Context, n int) error {
	row := nightRow{night: n}
	zs := func() error {
		bin := fb.bin
		var env []string
		if n == 2 && fb.profile != "" {
			bin, env = fb.profileBin, []string{profileEnv + "=" + fb.profile}
		}
		argv := append([]string{bin}, fb.f3.backup()[1:]...)
		r, _, err := measure(ctx, env, argv...)
		if err != nil {
			return err
		}
		row.zs = r
		row.zsStats, err = fb.f3.stats(ctx)
		return err
	}
	rs := func() (err error) {
		row.rs, _, err = measure(ctx, fb.restic.env, "restic", "backup", "--quiet", fb.tree)
		return err
	}
	order := []func() error{zs, rs}
	if n%2 == 0 {
		order = []func() error{rs, zs}
	}
	for _, f := range order {
		if err := f(); err != nil {
			return err
		}
	}
	var err error
	if row.zsStored, err = diskUsage(ctx, fb.f3.repo); err != nil {
		return err
	}
	if row.rsStored, err = diskUsage(ctx, fb.restic.repo); err != nil {
		return err
	}
	fb.log(fb.rep, row)
	fb.rep.nights = append(fb.rep.nights, row)
	switch n {
	case 1:
		return fb.formatTwoPairs(ctx, row.zs)
	case nights:
		r, _, err := measure(ctx, nil, fb.f2.backup()...)
		fb.rep.f2Last = r
		return err
	}
	return nil
}

// formatTwoPairs measures night 1 in format 2, paired with format 3: the
// first pair is the nightly repositories' night 1 (restic ran between
// them), the others use scratch repositories, odd pairs format 2 first.
func (fb *filesBench) formatTwoPairs(ctx context.Context, first result) error {
	for p := range fb.runs {
		var f3 *zuulstate
		f2 := fb.f2
		if p > 0 {
			scratch := filepath.Join(fb.work, "files", fmt.Sprintf("pair-%d", p))
			defer os.RemoveAll(scratch)
			var err error
			if f3, err = newZuulstate(filepath.Join(scratch, "f3"), fb.bin, fb.key, true, pathsSource(fb.tree)); err != nil {
				return err
			}
			if f2, err = newZuulstate(filepath.Join(scratch, "f2"), fb.bin, fb.key, false, pathsSource(fb.tree)); err != nil {
				return err
			}
		}
		var r3, r2 result
		var err error
		switch {
		case p == 0:
			r3 = first
			r2, _, err = measure(ctx, nil, f2.backup()...)
		case p%2 == 1:
			if r2, _, err = measure(ctx, nil, f2.backup()...); err == nil {
				r3, _, err = measure(ctx, nil, f3.backup()...)
			}
		default:
			if r3, _, err = measure(ctx, nil, f3.backup()...); err == nil {
				r2, _, err = measure(ctx, nil, f2.backup()...)
			}
		}
		if err != nil {
			return err
		}
		fb.pair(p, r3, r2)
	}
	if fb.profile != "" {
		// Profiled apart, untimed: the profiler would tilt the pairs.
		scratch := filepath.Join(fb.work, "files", "profile-night1")
		defer os.RemoveAll(scratch)
		f3, err := newZuulstate(scratch, fb.bin, fb.key, true, pathsSource(fb.tree))
		if err == nil {
			_, err = run(ctx, []string{profileEnv + "=" + fb.profile + ".night1"}, append([]string{fb.profileBin}, f3.backup()[1:]...)...)
		}
		if err != nil {
			return err
		}
	}
	var err error
	fb.rep.f2Stored, err = diskUsage(ctx, fb.f2.repo)
	return err
}

func (fb *filesBench) pair(p int, f3, f2 result) {
	fb.logf("night 1 pair %d: format 3 %.2f s, format 2 %.2f s", p+1, f3.wall.Seconds(), f2.wall.Seconds())
	fb.rep.f3First = append(fb.rep.f3First, f3)
	fb.rep.f2First = append(fb.rep.f2First, f2)
}

func pathsSource(tree string) string {
	return fmt.Sprintf("sources:\n  paths:\n    - name: logs\n      path: %s\n", tree)
}

// treeSize is the bytes and number of the tree's regular files.
func treeSize(root string) (size int64, files int, err error) {
	err = filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
			files++
		}
		return err
	})
	return size, files, err
}

// settle waits after a mass delete, so that creating files is not slowed
// by the inodes it freed.
func (b *bench) settle() {
	syscall.Sync()
	b.logf("waiting %s for the file system to settle after deleting an old tree", b.settleTime)
	time.Sleep(b.settleTime)
}
