// Command benchnightly measures what a nightly backup costs over a week
// (issue 12), zuulstate side by side with restic 0.14 (Debian's package)
// in the same run, both into fresh local repositories on the same disk:
//
//   - files: about 1.15 GiB of Zuul build logs (<2 hex>/<change>/<patchset>/
//     <pipeline>/<job>/<uuid7>/ with job-output.txt, job-output.json,
//     zuul-info/, ara/; zstd -3 stores about 35%), seven nights, each adding
//     1% new builds (sorting in among the old ones) and removing the 1%
//     oldest; zuulstate's paths source against `restic backup DIR`. Night 1
//     is also paired with format 2 (repository.dedup: false), and the last
//     night is restored with --paths-dir in format 3, format 2 and restic.
//   - database: a Zuul-shaped MariaDB database (scripts/zuuldb, 60,000
//     buildsets, about 570 MiB) on the prod dev-services server, seven
//     nights with 1% more rows appended before each; zuulstate's mariadb
//     source against `mariadb-dump | restic backup --stdin`.
//
// Each night reports wall and CPU time, the repository's size on disk
// (du -sb) and each tool process's peak RSS (wait4). zuulstate encrypts to
// an age key made once with `zuulstate keygen`; restic's password is in a
// file named by RESTIC_PASSWORD_FILE, mariadb-dump's in a defaults file:
// no secret is ever in an argv. The log tree is kept between invocations
// (a sliding window of builds), the database too; everything else is
// made fresh. Results go into BENCHMARKS.md by hand.
//
//	eval "$(scripts/dev-services.sh env)"
//	make build && go run ./scripts/benchnightly -bin bin/zuulstate [-scale 0.25] [-cpuprofile nightly.pprof]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// nights is the length of the measured week.
const nights = 7

type bench struct {
	work, bin, dbName, src string
	scale                  float64
	runs                   int
	profile, profileBin    string
	settleTime             time.Duration
	key                    key
}

func main() {
	var (
		work      = flag.String("work", "/var/tmp/zuulstate-benchnightly", "directory for the log tree, repositories and restores")
		bin       = flag.String("bin", "bin/zuulstate", "zuulstate binary")
		scale     = flag.Float64("scale", 1, "input size relative to 2,200 builds of logs (1.15 GiB) and a 60,000-buildset database")
		runs      = flag.Int("runs", 3, "night-1 format 2/3 pairs and restore rounds (medians are reported)")
		scenarios = flag.String("scenarios", "files,database", "which scenarios to run")
		dbName    = flag.String("db", "zuul_nightly", "database of the MariaDB scenario (on the prod server; kept between runs)")
		profile   = flag.String("cpuprofile", "", "write CPU profiles of zuulstate on the files: night 2 to this file, an extra night 1 to FILE.night1, the first format 3 restore to FILE.restore")
		src       = flag.String("src", ".", "module directory -bin was built from (for the -cpuprofile build)")
		settle    = flag.Duration("settle", 2*time.Minute, "pause after deleting an old log tree or leftover restores")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{bin: *bin, dbName: *dbName, scale: *scale, runs: max(1, *runs), settleTime: *settle}
	b.src = *src
	err := b.run(ctx, *work, *profile, strings.Split(*scenarios, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchnightly:", err)
		os.Exit(1)
	}
}

func (b *bench) run(ctx context.Context, work, profile string, scenarios []string) error {
	var err error
	if b.work, err = filepath.Abs(work); err != nil {
		return err
	}
	if b.bin, err = filepath.Abs(b.bin); err != nil {
		return err
	}
	for _, tool := range []string{b.bin, "restic", "mariadb-dump", "mariadb", "du", "tar", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w (restic: apt-get install restic)", err)
		}
	}
	version, err := run(ctx, nil, "restic", "version")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.work, 0o700); err != nil {
		return err
	}
	if b.key, err = ensureKey(ctx, b.bin, b.work); err != nil {
		return err
	}
	if profile != "" {
		if b.profile, err = filepath.Abs(profile); err != nil {
			return err
		}
		if b.profileBin, err = buildProfiling(ctx, b.src, b.work); err != nil {
			return err
		}
	}
	var reports []*report
	for _, s := range scenarios {
		var rep *report
		switch strings.TrimSpace(s) {
		case "files":
			rep, err = b.runFiles(ctx)
		case "database":
			rep, err = b.runDatabase(ctx)
		default:
			return fmt.Errorf("unknown scenario %q (files, database)", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		reports = append(reports, rep)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\n%s, scale %g, %d runs; %s; load average at the end: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		b.scale, b.runs, strings.TrimSpace(version), strings.Join(strings.Fields(string(load))[:3], " "))
	for _, rep := range reports {
		rep.print()
	}
	printTargets(reports)
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchnightly: "+format+"\n", args...)
}

func (b *bench) log(rep *report, r nightRow) {
	b.logf("%s night %d: zuulstate %.2f s %s %d MiB, restic %.2f s %s %d MiB", rep.scenario, r.night,
		r.zs.wall.Seconds(), megabytes(r.zsStored), r.zs.maxRSS>>10, r.rs.wall.Seconds(), megabytes(r.rsStored), r.rs.maxRSS>>10)
}
