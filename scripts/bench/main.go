// Command bench measures zuulstate's write pipeline against `zstd -3 -T0` on
// the same bytes in the same run, and records peak RSS. It is run by
// `make bench`; results go into BENCHMARKS.md by hand.
//
// The input is a directory of generated mixed data (text like build logs,
// incompressible bytes, zero runs). It is the benchmark's input, kept between
// runs in -work; zuulstate itself writes no temporary files, which the
// benchmark checks.
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
		work   = flag.String("work", "/var/tmp/zuulstate-bench", "directory for the generated input and the local repository")
		size   = flag.Int64("size", 2<<30, "bytes of input data")
		bin    = flag.String("bin", "bin/zuulstate", "zuulstate binary")
		runs   = flag.Int("runs", 3, "runs per variant (the median is reported)")
		withS3 = flag.Bool("s3", true, "also measure MinIO (needs ZUULSTATE_TEST_S3_* from scripts/dev-services.sh env)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *work, *size, *bin, *runs, *withS3); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	name   string
	wall   time.Duration
	maxRSS int64 // KiB
}

func run(ctx context.Context, work string, size int64, bin string, runs int, withS3 bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	data := filepath.Join(work, "data")
	if err := generate(data, size); err != nil {
		return err
	}
	// Warm the page cache so every variant reads from memory.
	if _, err := measure(ctx, "", "sh", "-c", "cat "+data+"/* > /dev/null"); err != nil {
		return err
	}
	variants, err := writeConfigs(work, data, withS3)
	if err != nil {
		return err
	}
	tmpBefore := listDir(os.TempDir())
	baseline, err := median(ctx, runs, nil, "sh", "-c", "tar -cf - -C "+data+" . | zstd -q -3 -T0 -c > /dev/null")
	if err != nil {
		return err
	}
	baseline.name = `tar \| zstd -3 -T0 > /dev/null (baseline)`
	// The same compression written durably to the disk the local repository
	// and MinIO use: what a hand-made `tar | zstd > file` backup costs.
	durable, err := median(ctx, runs, nil, "sh", "-c", "tar -cf - -C "+data+" . | zstd -q -3 -T0 -c > "+work+"/baseline.zst && sync "+work+"/baseline.zst && rm "+work+"/baseline.zst")
	if err != nil {
		return err
	}
	durable.name = `tar \| zstd -3 -T0 > file; fsync (durable baseline)`
	results := []result{baseline, durable}
	for _, v := range variants {
		r, err := median(ctx, runs, v.env, bin, "backup", "--quiet", "--config", v.config)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		r.name = v.name
		results = append(results, r)
		// Keep the repositories from filling the disk across runs.
		if _, err := measure(ctx, strings.Join(v.env, "\x00"), bin, "prune", "--quiet", "--keep-last", "1", "--config", v.config); err != nil {
			return fmt.Errorf("%s: prune: %w", v.name, err)
		}
	}
	defer os.RemoveAll("/dev/shm/zuulstate-bench-repo")
	if leaked := diff(tmpBefore, listDir(os.TempDir())); len(leaked) > 0 {
		return fmt.Errorf("temporary files appeared in %s: %v", os.TempDir(), leaked)
	}
	if stray := strayLocalFiles(filepath.Join(work, "repo")); len(stray) > 0 {
		return fmt.Errorf("unexpected files in the local repository: %v", stray)
	}
	fmt.Printf("input: %d MiB of mixed data, %d runs per variant (median), GOMAXPROCS=%s, %d CPUs\n\n",
		size>>20, runs, os.Getenv("GOMAXPROCS"), numCPU())
	fmt.Println("| variant | wall | MiB/s | ratio to baseline | ratio to durable baseline | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %.2f s | %.0f | %.2f× | %.2f× | %d MiB |\n", r.name, r.wall.Seconds(),
			float64(size)/(1<<20)/r.wall.Seconds(), baseline.wall.Seconds()/r.wall.Seconds(),
			durable.wall.Seconds()/r.wall.Seconds(), r.maxRSS/1024)
	}
	fmt.Println("\nno temporary files were created (checked", os.TempDir(), "and the local repository)")
	return nil
}

func median(ctx context.Context, runs int, env []string, name string, args ...string) (result, error) {
	var rs []result
	for range runs {
		r, err := measure(ctx, strings.Join(env, "\x00"), name, args...)
		if err != nil {
			return r, err
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	return rs[len(rs)/2], nil
}

func measure(ctx context.Context, env string, name string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if env != "" {
		cmd.Env = append(os.Environ(), strings.Split(env, "\x00")...)
	}
	// Start every run with no dirty pages from the previous one, so disk
	// writeback of one variant is not billed to the next.
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
