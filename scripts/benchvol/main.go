// Command benchvol measures the volumes source and its restore against
// local tar and zstd on the same volume in the same run (issue 5's
// targets), with peak RSS:
//
//   - backup: `tar -C <mountpoint> -cf - . | zstd -3 -T0 > file` against
//     `zuulstate backup` to a local repository, the direct and the API way;
//   - restore: `zstd -dc file | tar -x -C dir` against `zuulstate restore`
//     into a new volume, direct (with and without the verify pass) and API.
//
// It needs root, a Docker engine (ZUULSTATE_TEST_DOCKER_HOST or
// DOCKER_HOST) and a static zuulstate (CGO_ENABLED=0) for the API restore.
// The volume (2 GiB: 50 000 small files, a few large ones, one sparse) is
// kept between runs; results go into BENCHMARKS.md by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		work = flag.String("work", "/var/tmp/zuulstate-benchvol", "directory for baseline archives, repositories and restores")
		bin  = flag.String("bin", "bin/zuulstate", "zuulstate binary (static for the API restore)")
		runs = flag.Int("runs", 3, "runs per variant (the median is reported)")
		vol  = flag.String("volume", "zuulstate-bench", "volume holding the input (created and filled once)")
		api  = flag.Bool("api", true, "also measure the engine-API way")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *work, *bin, *vol, *runs, *api); err != nil {
		fmt.Fprintln(os.Stderr, "benchvol:", err)
		os.Exit(1)
	}
}

type result struct {
	name   string
	wall   time.Duration
	maxRSS int64 // KiB
	base   *result
	// durable is the fsyncing baseline, for backups into the local store.
	durable *result
}

func run(ctx context.Context, work, bin, vol string, runs int, api bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	host := os.Getenv("ZUULSTATE_TEST_DOCKER_HOST")
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		return fmt.Errorf("no engine: run eval \"$(scripts/dev-services.sh env)\" or set DOCKER_HOST")
	}
	os.Setenv("DOCKER_HOST", host)
	mp, size, err := prepareVolume(ctx, vol)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	fmt.Printf("volume %s at %s: %.2f GiB of data\n\n", vol, mp, float64(size)/(1<<30))
	// Warm the page cache so every variant reads from memory.
	if _, err := measure(ctx, nil, "sh", "-c", "tar -C "+mp+" -cf - . > /dev/null"); err != nil {
		return err
	}
	archive := filepath.Join(work, "baseline.tar.zst")
	tarBackup, err := median(ctx, runs, nil, "sh", "-c", "tar -C "+mp+" -cf - . | zstd -q -3 -T0 -f -o "+archive)
	if err != nil {
		return err
	}
	tarBackup.name = "backup: tar | zstd -3 -T0 > file (baseline)"
	// The local repository fsyncs what it stores; so does this baseline.
	durable, err := median(ctx, runs, nil, "sh", "-c", "tar -C "+mp+" -cf - . | zstd -q -3 -T0 -f -o "+archive+" && sync "+archive)
	if err != nil {
		return err
	}
	durable.name, durable.base = "backup: tar | zstd -3 -T0 > file; fsync (durable baseline)", &tarBackup
	results := []*result{&tarBackup, &durable}
	ways := []string{"direct"}
	if api {
		ways = append(ways, "api")
	}
	for _, way := range ways {
		cfg, err := writeConfig(work, way, vol)
		if err != nil {
			return err
		}
		r, err := median(ctx, runs, func() error { return resetRepo(work, way) }, bin, "backup", "--quiet", "--config", cfg)
		if err != nil {
			return err
		}
		r.name, r.base, r.durable = "backup: zuulstate, "+way+" way, local repository", &tarBackup, &durable
		results = append(results, &r)
	}

	// Every restore run writes into a target of its own, and the variants
	// take turns, run by run. Deleting hundreds of thousands of files here
	// (ext4 without a journal, online discard) makes creating files slow
	// for minutes afterwards: inode allocation skips recently freed inodes.
	// Whichever variant ran first after such a delete measured 1.5-3x
	// slower, and that, not the variants, decided earlier restore ratios.
	// So nothing is deleted before the runs (leftovers of an interrupted
	// invocation are, with a pause), and each round runs every variant.
	target := vol + "-restored"
	if n, err := cleanupRestores(ctx, work, target); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(os.Stderr, "benchvol: removed %d leftover restores; waiting 2 minutes for the file system to settle\n", n)
		syscall.Sync()
		time.Sleep(2 * time.Minute)
	}
	type restoreVariant struct {
		name string
		argv func(run int) []string
		runs []result
	}
	variants := []*restoreVariant{{name: "restore: zstd -dc file | tar -x (baseline)", argv: func(run int) []string {
		dir := filepath.Join(work, fmt.Sprintf("restore-%d", run))
		return []string{"sh", "-c", "mkdir -p " + dir + " && zstd -dc " + archive + " | tar -x -C " + dir}
	}}}
	restoreWays := []struct{ name, way, flag string }{{"direct way", "direct", ""}, {"direct way, --skip-verify", "direct", "--skip-verify"}}
	if api {
		restoreWays = append(restoreWays, struct{ name, way, flag string }{"API way", "api", ""})
	}
	for vi, w := range restoreWays {
		variants = append(variants, &restoreVariant{name: "restore: zuulstate, " + w.name, argv: func(run int) []string {
			// The API way restores its own snapshot of the same data.
			args := []string{bin, "restore", "latest", "--quiet", "--config", filepath.Join(work, w.way+".yaml"),
				"--volume-map", fmt.Sprintf("%s=%s-%d-%d", vol, target, vi, run), "--allow-devices"}
			if w.flag != "" {
				args = append(args, w.flag)
			}
			return args
		}})
	}
	for run := range runs {
		for _, v := range variants {
			argv := v.argv(run)
			r, err := measure(ctx, nil, argv[0], argv[1:]...)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "benchvol: run %d: %s: %.2f s\n", run+1, v.name, r.wall.Seconds())
			v.runs = append(v.runs, r)
		}
	}
	var base *result
	for _, v := range variants {
		sort.Slice(v.runs, func(i, j int) bool { return v.runs[i].wall < v.runs[j].wall })
		r := v.runs[len(v.runs)/2]
		for _, o := range v.runs {
			r.maxRSS = max(r.maxRSS, o.maxRSS)
		}
		r.name, r.base = v.name, base
		if base == nil {
			base = &r
		}
		results = append(results, &r)
	}
	if _, err := cleanupRestores(ctx, work, target); err != nil {
		return err
	}
	report(results, size)
	return nil
}

func report(results []*result, size int64) {
	fmt.Println("| variant | wall | MiB/s | ratio to its baseline | ratio to the durable baseline | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	ratio := func(base, r *result) string {
		if base == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f×", base.wall.Seconds()/r.wall.Seconds())
	}
	for _, r := range results {
		fmt.Printf("| %s | %.2f s | %.0f | %s | %s | %d MiB |\n", strings.ReplaceAll(r.name, "|", `\|`), r.wall.Seconds(),
			float64(size)/(1<<20)/r.wall.Seconds(), ratio(r.base, r), ratio(r.durable, r), r.maxRSS/1024)
	}
}

// median runs the command runs times, calling before (untimed) before
// each, and returns the median run.
func median(ctx context.Context, runs int, before func() error, name string, args ...string) (result, error) {
	var rs []result
	for range runs {
		r, err := measure(ctx, before, name, args...)
		if err != nil {
			return r, err
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	return rs[len(rs)/2], nil
}

func measure(ctx context.Context, before func() error, name string, args ...string) (result, error) {
	if before != nil {
		if err := before(); err != nil {
			return result{}, err
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// No dirty pages of one variant are billed to the next.
	syscall.Sync()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %v: %w", name, args, err)
	}
	r := result{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	return r, nil
}
