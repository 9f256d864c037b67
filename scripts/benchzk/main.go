// Command benchzk measures zuulstate's zookeeper source and restore against
// the baseline other tools use, a walk with one request at a time over the
// same library, side by side in one run, and records zuulstate's peak RSS
// (issue 4):
//
//   - export: `zuulstate backup` (zookeeper source, profile all, local
//     repository) against reading the same nodes one request at a time
//     (data, ACL, children: the same information);
//   - restore: `zuulstate restore latest` into an empty chroot on the dev
//     server against creating the nodes one create at a time.
//
// The Zuul-shaped tree (internal/zktest.ZuulTree, about 200 000 nodes of
// about 300 bytes) is built on the prod server under /zuulstate-bench and
// deleted at the end (-keep keeps it for the next run: the dev services'
// ZooKeeper has a 512 MiB heap). Each variant runs -runs times; the median
// is reported.
//
//	eval "$(scripts/dev-services.sh env)"
//	go build -o bin/zuulstate ./cmd/zuulstate && go run ./scripts/benchzk -bin bin/zuulstate
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

const benchRoot = "/zuulstate-bench"

// shape gives about 200 000 nodes averaging about 300 bytes of data.
var shape = zktest.ZuulShape{Projects: 20000, NodepoolNodes: 30000, Requests: 30000, ZuulNodes: 40000, Images: 2500}

func main() {
	bin := flag.String("bin", "bin/zuulstate", "zuulstate binary")
	runs := flag.Int("runs", 3, "runs per variant")
	baseNodes := flag.Int("baseline-restore-nodes", 20000, "nodes the one-create-at-a-time baseline creates (0: all); its rate is measured on these")
	keep := flag.Bool("keep", false, "keep the bench tree on the prod server for the next run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *bin, *runs, *baseNodes)
	if !*keep {
		if derr := deleteTree(context.WithoutCancel(ctx), env("ZUULSTATE_TEST_ZK_PROD_ADDR")); err == nil {
			err = derr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchzk:", err)
		os.Exit(1)
	}
}

func env(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "benchzk: %s is not set: eval \"$(scripts/dev-services.sh env)\"\n", name)
		os.Exit(2)
	}
	return v
}

func connect(ctx context.Context, addr, chroot string) (*zkconn.Client, error) {
	return zkconn.Connect(ctx, zkconn.Config{Servers: []string{addr}, Chroot: chroot, RequestTimeout: time.Minute})
}

type result struct {
	name  string
	nodes int
	wall  time.Duration
	rss   int64         // KiB, 0 when not measured
	write time.Duration // restore: the write phase, before verification
	log   string
}

func run(ctx context.Context, bin string, runs, baseNodes int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	prodAddr, devAddr := env("ZUULSTATE_TEST_ZK_PROD_ADDR"), env("ZUULSTATE_TEST_ZK_DEV_ADDR")
	nodes, avg, err := ensureTree(ctx, prodAddr)
	if err != nil {
		return err
	}
	fmt.Printf("tree: %d nodes under %s on %s, %.0f bytes of data per node on average\n", nodes, benchRoot, prodAddr, avg)
	dir, err := os.MkdirTemp("", "zuulstate-benchzk")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var results []result
	median := func(name string, f func(i int) (result, error)) error {
		var rs []result
		for i := range runs {
			r, err := f(i)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Printf("  %s run %d: %s\n", name, i+1, r.wall.Round(time.Millisecond))
			rs = append(rs, r)
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
		m := rs[len(rs)/2]
		m.name = name
		results = append(results, m)
		return nil
	}
	if err := median("export, one request at a time (baseline)", func(int) (result, error) { return baselineExport(ctx, prodAddr) }); err != nil {
		return err
	}
	cfg, err := writeConfig(dir, prodAddr, devAddr)
	if err != nil {
		return err
	}
	if err := median("export, zuulstate backup", func(int) (result, error) { return zuulstate(ctx, bin, cfg, nodes, "backup", "--quiet") }); err != nil {
		return err
	}
	if err := median("restore, one create at a time (baseline)", func(i int) (result, error) { return baselineRestore(ctx, prodAddr, devAddr, baseNodes, i) }); err != nil {
		return err
	}
	if err := median("restore, zuulstate restore", func(i int) (result, error) { return zuulstateRestore(ctx, bin, dir, prodAddr, devAddr, nodes, i) }); err != nil {
		return err
	}
	report(results)
	return nil
}

// report prints the table for BENCHMARKS.md.
func report(rs []result) {
	fmt.Println()
	fmt.Println("| variant | nodes | wall | nodes/s | ratio to its baseline | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	var base float64
	for i, r := range rs {
		rate := float64(r.nodes) / r.wall.Seconds()
		if i%2 == 0 {
			base = rate
		}
		rss := "–"
		if r.rss > 0 {
			rss = fmt.Sprintf("%d MiB", r.rss/1024)
		}
		fmt.Printf("| %s | %d | %.2f s | %.0f | %.1f× | %s |\n", r.name, r.nodes, r.wall.Seconds(), rate, rate/base, rss)
		if r.write > 0 {
			w := float64(r.nodes) / r.write.Seconds()
			fmt.Printf("| %s: write phase (verification excluded) | %d | %.2f s | %.0f | %.1f× | |\n", r.name, r.nodes, r.write.Seconds(), w, w/base)
		}
	}
}
