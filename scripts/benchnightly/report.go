package main

import (
	"fmt"
	"slices"
	"time"
)

// nightRow is one night of one scenario.
type nightRow struct {
	night              int
	zs, rs             result
	zsStats            stats
	zsStored, rsStored int64 // repository sizes after the night
	producerRSS        int64 // mariadb-dump's, in the database scenario
}

// report is one scenario's results.
type report struct {
	scenario, input  string
	nights           []nightRow
	zsState, rsCache int64 // local state after the last night
	// files only: night 1 pairs, format 2's night 7, restores of night 7
	// (format 3, format 2, restic) and the bytes restored.
	f3First, f2First []result
	f2Last           result
	f2Stored         int64
	restores         [][]result
	restoredBytes    int64
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// laterNights sums nights 2-7: wall and CPU of each tool.
func (r *report) laterNights() (zs, rs, zsCPU, rsCPU time.Duration) {
	for _, n := range r.nights[1:] {
		zs, rs, zsCPU, rsCPU = zs+n.zs.wall, rs+n.rs.wall, zsCPU+n.zs.cpu, rsCPU+n.rs.cpu
	}
	return zs, rs, zsCPU, rsCPU
}

func (r *report) peakRSS() (zs, rs int64) {
	for _, n := range r.nights {
		zs, rs = max(zs, n.zs.maxRSS), max(rs, n.rs.maxRSS)
	}
	for _, list := range [][]result{r.f3First, r.f2First, {r.f2Last}} {
		for _, x := range list {
			zs = max(zs, x.maxRSS)
		}
	}
	return zs, rs
}

func (r *report) print() {
	fmt.Printf("\n### %s: %s\n\n", r.scenario, r.input)
	fmt.Println("| night | zuulstate wall | restic wall | ratio | zuulstate CPU | restic CPU | zuulstate repository | restic repository | zuulstate stored this night | entries reused unread | zuulstate peak RSS | restic peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range r.nights {
		fmt.Printf("| %d | %s | %s | %.2f× | %s | %s | %s | %s | %s | %d | %d MiB | %d MiB |\n", n.night, seconds(n.zs.wall), seconds(n.rs.wall),
			n.zs.wall.Seconds()/n.rs.wall.Seconds(), seconds(n.zs.cpu), seconds(n.rs.cpu), megabytes(n.zsStored), megabytes(n.rsStored),
			megabytes(n.zsStats.newStored), n.zsStats.reusedFiles, n.zs.maxRSS>>10, n.rs.maxRSS>>10)
	}
	zs, rs, zsCPU, rsCPU := r.laterNights()
	last := r.nights[len(r.nights)-1]
	// The RSS of the summary row is the nights 2-7's; night 1 has its own.
	var added, zsRSS, rsRSS int64
	for _, n := range r.nights[1:] {
		added += n.zsStats.newStored
		zsRSS, rsRSS = max(zsRSS, n.zs.maxRSS), max(rsRSS, n.rs.maxRSS)
	}
	fmt.Printf("| **2–%d** | **%s** | **%s** | **%.2f×** | %s | %s | **%s** (%.2f×) | **%s** | %s | | %d MiB | %d MiB |\n", len(r.nights),
		seconds(zs), seconds(rs), zs.Seconds()/rs.Seconds(), seconds(zsCPU), seconds(rsCPU), megabytes(last.zsStored),
		float64(last.zsStored)/float64(last.rsStored), megabytes(last.rsStored), megabytes(added), zsRSS>>10, rsRSS>>10)
	fmt.Printf("\nraw size of the last snapshot %s; local state after the last night: zuulstate state_dir %s, restic cache %s",
		megabytes(last.zsStats.raw), megabytes(r.zsState), megabytes(r.rsCache))
	if last.producerRSS > 0 {
		fmt.Printf("; mariadb-dump peak RSS %d MiB", last.producerRSS>>10)
	}
	fmt.Println()
	if len(r.f3First) == 0 {
		return
	}
	fmt.Printf("\n| night 1 into a fresh repository (%d pairs) | wall (median) | CPU (median) | ratio to format 2 (median of pairs) | repository | peak RSS |\n", len(r.f3First))
	fmt.Println("|---|---|---|---|---|---|")
	ratios := make([]float64, len(r.f3First))
	for i := range r.f3First {
		ratios[i] = r.f3First[i].wall.Seconds() / r.f2First[i].wall.Seconds()
	}
	fmt.Printf("| zuulstate format 3 | %s | %s | **%.2f×** | %s | %d MiB |\n", seconds(median(walls(r.f3First))), seconds(median(cpus(r.f3First))),
		median(ratios), megabytes(r.nights[0].zsStored), maxRSS(r.f3First)>>10)
	fmt.Printf("| zuulstate format 2 (`repository.dedup: false`) | %s | %s | 1.00× | %s | %d MiB |\n", seconds(median(walls(r.f2First))),
		seconds(median(cpus(r.f2First))), megabytes(r.f2Stored), maxRSS(r.f2First)>>10)
	fmt.Printf("| zuulstate format 2, night %d | %s | %s | | | %d MiB |\n", len(r.nights), seconds(r.f2Last.wall), seconds(r.f2Last.cpu), r.f2Last.maxRSS>>10)
	fmt.Printf("\n| restore of night %d (%d rounds, %s) | wall (median) | CPU (median) | MiB/s | throughput ratio to format 2 (median of rounds) | peak RSS |\n",
		len(r.nights), len(r.restores[0]), megabytes(r.restoredBytes))
	fmt.Println("|---|---|---|---|---|---|")
	for i, name := range []string{"zuulstate format 3 (`restore --paths-dir`)", "zuulstate format 2 (`restore --paths-dir`)", "restic (`restore --target`)"} {
		ratios := make([]float64, len(r.restores[i]))
		for k := range ratios {
			ratios[k] = r.restores[1][k].wall.Seconds() / r.restores[i][k].wall.Seconds()
		}
		wall := median(walls(r.restores[i]))
		fmt.Printf("| %s | %s | %s | %.0f | %.2f× | %d MiB |\n", name, seconds(wall), seconds(median(cpus(r.restores[i]))),
			float64(r.restoredBytes)/(1<<20)/wall.Seconds(), median(ratios), maxRSS(r.restores[i])>>10)
	}
}

func walls(rs []result) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.wall
	}
	return out
}

func cpus(rs []result) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.cpu
	}
	return out
}

func maxRSS(rs []result) (m int64) {
	for _, r := range rs {
		m = max(m, r.maxRSS)
	}
	return m
}

// printTargets checks issue 12's targets against what was measured.
func printTargets(reports []*report) {
	fmt.Println("\n| target (issue 12) | measured | met |")
	fmt.Println("|---|---|---|")
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	var rss int64
	for _, r := range reports {
		last := r.nights[len(r.nights)-1]
		fmt.Printf("| %s: stored after night %d ≤ restic's | %s against %s (%.2f×) | %s |\n", r.scenario, last.night, megabytes(last.zsStored),
			megabytes(last.rsStored), float64(last.zsStored)/float64(last.rsStored), met(last.zsStored <= last.rsStored))
		zs, rs, _, _ := r.laterNights()
		fmt.Printf("| %s: time of nights 2–%d ≤ 1.0× restic's (aim 0.5×) | %s against %s (%.2f×) | %s |\n", r.scenario, last.night, seconds(zs),
			seconds(rs), zs.Seconds()/rs.Seconds(), met(zs <= rs))
		zsRSS, _ := r.peakRSS()
		rss = max(rss, zsRSS)
		if len(r.f3First) == 0 {
			continue
		}
		ratios := make([]float64, len(r.f3First))
		for i := range ratios {
			ratios[i] = r.f3First[i].wall.Seconds() / r.f2First[i].wall.Seconds()
		}
		fmt.Printf("| %s: night 1 ≤ 1.1× format 2 | %.2f× (median of %d pairs) | %s |\n", r.scenario, median(ratios), len(ratios), met(median(ratios) <= 1.1))
		rounds := make([]float64, len(r.restores[0]))
		for k := range rounds {
			rounds[k] = r.restores[1][k].wall.Seconds() / r.restores[0][k].wall.Seconds()
			rss = max(rss, r.restores[0][k].maxRSS, r.restores[1][k].maxRSS)
		}
		fmt.Printf("| %s: restore ≥ 0.8× format 2's throughput | %.2f× (median of %d rounds) | %s |\n", r.scenario, median(rounds), len(rounds), met(median(rounds) >= 0.8))
	}
	fmt.Printf("| peak RSS < 250 MiB (zuulstate, every run) | %d MiB | %s |\n", rss>>10, met(rss < 250<<10))
}
