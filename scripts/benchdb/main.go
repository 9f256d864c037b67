// Command benchdb measures zuulstate's mariadb source against the stock
// tools on a Zuul-shaped database, side by side in one run, and records
// peak RSS (issue 3):
//
//   - dump: `mariadb-dump --single-transaction --routines --events --triggers
//     DB | zstd -3 -T0 > file` against `zuulstate backup` (mariadb source,
//     local repository, emptied before every backup: a full dump each time);
//   - restore: `zstd -dc file | mariadb DB_copy` on the dev server against
//     `zuulstate restore latest --db-map DB=DB_copy --force`.
//
// The database is generated once on the prod server by scripts/zuuldb
// (kept between runs). Baseline and zuulstate runs alternate, -runs times
// each, every run after syscall.Sync(); the median wall time and the median
// of the per-pair ratios are reported. Passwords go through the environment
// (MYSQL_PWD for the stock clients) or a password_file, never argv.
//
//	eval "$(scripts/dev-services.sh env)"
//	go build -o bin/zuulstate ./cmd/zuulstate && go run ./scripts/benchdb -bin bin/zuulstate
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Adjust here when the CLI or configuration keys change.
const (
	// configTemplate is the zuulstate configuration: the mariadb source is
	// the only source, the repository is local. %[1]s prod addr, %[2]s dev
	// addr, %[3]s user, %[4]s password file, %[5]s database, %[6]s copy,
	// %[7]s repository path, %[8]s state directory.
	configTemplate = `state_dir: %[8]s
sources:
  mariadb:
    addr: %[1]s
    user: %[3]s
    password_file: %[4]s
    databases: [%[5]s]
restore:
  mariadb:
    addr: %[2]s
    user: %[3]s
    password_file: %[4]s
repository:
  local:
    path: %[7]s
`
)

// backupArgs and restoreArgs are the zuulstate command lines.
func backupArgs(config string) []string {
	return []string{"backup", "--quiet", "--config", config}
}

// checkArgs validates the configuration before anything is measured.
func checkArgs(config string) []string {
	return []string{"config", "check", "--config", config}
}

func restoreArgs(config, db, copyDB string) []string {
	return []string{"restore", "latest", "--quiet", "--config", config, "--db-map", db + "=" + copyDB, "--force"}
}

func main() {
	var (
		work   = flag.String("work", "/var/tmp/zuulstate-benchdb", "directory for the dump file, the config and the local repository")
		bin    = flag.String("bin", "bin/zuulstate", "zuulstate binary")
		db     = flag.String("db", "zuul_bench", "database generated on the prod server")
		size   = flag.String("size", "1GiB", "size of the generated database (scripts/zuuldb -size)")
		runs   = flag.Int("runs", 3, "runs per variant (the median is reported)")
		noZuul = flag.Bool("baseline-only", false, "measure only the stock tools")
		level  = flag.Int("level", 0, "repository.compression_level for zuulstate (0: not set, zuulstate's default)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{work: *work, bin: *bin, db: *db, copyDB: *db + "_copy", size: *size, runs: *runs, level: *level}
	if err := b.run(ctx, !*noZuul); err != nil {
		fmt.Fprintln(os.Stderr, "benchdb:", err)
		os.Exit(1)
	}
}

type bench struct {
	work, bin, db, copyDB, size string
	runs, level                 int
	prod, dev, user, password   string
}

type result struct {
	wall   time.Duration
	maxRSS int64 // KiB, largest process of the run
}

func (b *bench) run(ctx context.Context, withZuul bool) error {
	b.prod = os.Getenv("ZUULSTATE_TEST_MARIADB_PROD_ADDR")
	b.dev = os.Getenv("ZUULSTATE_TEST_MARIADB_DEV_ADDR")
	b.user = os.Getenv("ZUULSTATE_TEST_MARIADB_USER")
	b.password = os.Getenv("ZUULSTATE_TEST_MARIADB_PASSWORD")
	if b.prod == "" || b.dev == "" || b.user == "" || b.password == "" {
		return fmt.Errorf(`MariaDB servers not configured: run eval "$(scripts/dev-services.sh env)"`)
	}
	for _, tool := range []string{"mariadb-dump", "mariadb", "zstd", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(b.work, 0o700); err != nil {
		return err
	}
	gen := exec.CommandContext(ctx, "go", "run", "./scripts/zuuldb", "-addr", b.prod, "-user", b.user, "-db", b.db, "-size", b.size)
	gen.Stdout, gen.Stderr = os.Stdout, os.Stderr
	gen.Env = append(os.Environ(), "ZUULSTATE_TEST_MARIADB_PASSWORD="+b.password)
	if err := gen.Run(); err != nil {
		return fmt.Errorf("generating %s: %w", b.db, err)
	}
	dbSize, err := b.sql(ctx, b.prod, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+b.db+"'")
	if err != nil {
		return err
	}

	file := filepath.Join(b.work, b.db+".sql.zst")
	prodHost, prodPort := splitAddr(b.prod)
	devHost, devPort := splitAddr(b.dev)
	stockEnv := []string{"MYSQL_PWD=" + b.password}
	baseDump := variant{name: "mariadb-dump \\| zstd -3 -T0 > file (baseline)", env: stockEnv, cmd: []string{"sh", "-c",
		fmt.Sprintf("mariadb-dump --no-defaults --protocol=tcp -h%s -P%s -u%s --single-transaction --routines --events --triggers %s | zstd -q -3 -T0 -o %s -f",
			prodHost, prodPort, b.user, b.db, file)}}
	baseRestore := variant{name: "zstd -dc file \\| mariadb (baseline)", env: stockEnv, cmd: []string{"sh", "-c",
		fmt.Sprintf("zstd -dc %s | mariadb --no-defaults --protocol=tcp -h%s -P%s -u%s %s", file, devHost, devPort, b.user, b.copyDB)},
		before: func() error {
			_, err := b.sql(ctx, b.dev, "DROP DATABASE IF EXISTS `"+b.copyDB+"`; CREATE DATABASE `"+b.copyDB+"`")
			return err
		}}
	zDump := variant{name: "zuulstate backup (mariadb, local)"}
	zRestore := variant{name: "zuulstate restore --db-map", before: func() error {
		_, err := b.sql(ctx, b.dev, "DROP DATABASE IF EXISTS `"+b.copyDB+"`")
		return err
	}}
	if !withZuul {
		zDump.skipped, zRestore.skipped = "-baseline-only", "-baseline-only"
	} else if bin, config, reason := b.setupZuulstate(ctx); reason != "" {
		zDump.skipped, zRestore.skipped = reason, reason
	} else {
		// Every backup goes into an empty repository, as the baseline
		// writes a whole new file: into the last one, a deduplicating
		// repository would skip compressing and storing every chunk.
		zDump.before = b.freshRepository
		zDump.cmd = append([]string{bin}, backupArgs(config)...)
		zRestore.cmd = append([]string{bin}, restoreArgs(config, b.db, b.copyDB)...)
	}

	// Baseline and zuulstate runs alternate, so that load from anything
	// else on the machine is shared out evenly; each pair gives a ratio.
	dumpRows, err := b.paired(ctx, baseDump, zDump)
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	restoreRows, err := b.paired(ctx, baseRestore, zRestore)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if zRestore.skipped == "" {
		// The last run of the pair was zuulstate's: it must have restored
		// every row that the stock tools did.
		want, err := b.sql(ctx, b.prod, "SELECT COUNT(*) FROM `"+b.db+"`.zuul_build")
		if err != nil {
			return err
		}
		got, err := b.sql(ctx, b.dev, "SELECT COUNT(*) FROM `"+b.copyDB+"`.zuul_build")
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("restored zuul_build has %s rows, the source %s", got, want)
		}
	}

	fmt.Printf("\ndatabase: %s, %d MiB of data and indexes (information_schema), baseline dump file %d MiB; %d runs per variant, alternating, %d CPUs\n\n",
		b.db, atoi(dbSize)>>20, st.Size()>>20, b.runs, numCPU())
	fmt.Println("| variant | wall (median) | ratio to baseline (median of pairs) | target | peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	dumpRows[1].target, restoreRows[1].target = "≤ 0.70×, < 200 MiB", "≤ 0.50×, < 200 MiB"
	for _, r := range append(dumpRows, restoreRows...) {
		if r.skipped != "" {
			fmt.Printf("| %s | skipped: %s | | %s | |\n", r.name, r.skipped, r.target)
			continue
		}
		fmt.Printf("| %s | %.2f s | %.2f× | %s | %d MiB |\n", r.name, r.wall.Seconds(), r.ratio, r.target, r.maxRSS/1024)
	}
	fmt.Println("\nratio = variant wall time / baseline wall time of the same pair (lower is better); peak RSS is the largest process of all runs")
	return nil
}

// variant is one measured command; skipped says why it is not run.
type variant struct {
	name    string
	env     []string
	before  func() error
	cmd     []string
	skipped string
}

// row is a variant's result: median wall time, median of its ratios to
// the baseline run just before it, largest peak RSS.
type row struct {
	name, skipped, target string
	wall                  time.Duration
	ratio                 float64
	maxRSS                int64
}

// paired runs base and v alternately, runs times each.
func (b *bench) paired(ctx context.Context, base, v variant) ([]row, error) {
	var walls [2][]time.Duration
	var ratios []float64
	out := []row{{name: base.name, ratio: 1}, {name: v.name, skipped: v.skipped}}
	for range b.runs {
		for i, x := range []variant{base, v} {
			if x.skipped != "" {
				continue
			}
			r, err := b.run1(ctx, x)
			if err != nil {
				return nil, err
			}
			walls[i] = append(walls[i], r.wall)
			out[i].maxRSS = max(out[i].maxRSS, r.maxRSS)
			if i == 1 {
				ratios = append(ratios, r.wall.Seconds()/walls[0][len(walls[0])-1].Seconds())
			}
		}
	}
	for i := range out {
		if len(walls[i]) > 0 {
			slices.Sort(walls[i])
			out[i].wall = walls[i][len(walls[i])/2]
		}
	}
	if len(ratios) > 0 {
		slices.Sort(ratios)
		out[1].ratio = ratios[len(ratios)/2]
	}
	return out, nil
}

// setupZuulstate writes the configuration and checks it, or says why
// zuulstate's rows are skipped.
func (b *bench) setupZuulstate(ctx context.Context) (bin, config, skipped string) {
	bin, err := filepath.Abs(b.bin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return "", "", "no zuulstate binary (" + err.Error() + ")"
	}
	pwFile := filepath.Join(b.work, "mariadb-password")
	config = filepath.Join(b.work, "zuulstate.yaml")
	err = b.freshRepository()
	if err == nil {
		err = os.WriteFile(pwFile, []byte(b.password+"\n"), 0o600)
	}
	if err == nil {
		text := fmt.Sprintf(configTemplate, b.prod, b.dev, b.user, pwFile, b.db, b.copyDB,
			filepath.Join(b.work, "repo"), filepath.Join(b.work, "state"))
		if b.level != 0 {
			text += fmt.Sprintf("  compression_level: %d\n", b.level)
		}
		err = os.WriteFile(config, []byte(text), 0o600)
	}
	if err != nil {
		return "", "", err.Error()
	}
	if msg := tryRun(ctx, bin, checkArgs(config)...); msg != "" {
		return "", "", "config not accepted: " + msg
	}
	return bin, config, ""
}

// freshRepository empties the local repository and zuulstate's state
// directory.
func (b *bench) freshRepository() error {
	for _, d := range []string{"repo", "state"} {
		dir := filepath.Join(b.work, d)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// tryRun runs a command and returns "" on success, else its error and the
// first line of its output.
func tryRun(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return fmt.Sprintf("%v: %s", err, line)
}

// sql runs statements with the mariadb client (password in MYSQL_PWD) and
// returns the output, tab-separated without headers.
func (b *bench) sql(ctx context.Context, addr, query string) (string, error) {
	host, port := splitAddr(addr)
	cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "--protocol=tcp", "-h"+host, "-P"+port, "-u"+b.user, "-N", "-B", "-e", query)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+b.password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("mariadb -e %q: %w: %s", query, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// run1 runs one variant once, after its before hook and a sync.
func (b *bench) run1(ctx context.Context, v variant) (result, error) {
	if v.before != nil {
		if err := v.before(); err != nil {
			return result{}, err
		}
	}
	r, err := measure(ctx, v.env, v.cmd[0], v.cmd[1:]...)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "benchdb: %s %s: %.2f s, %d MiB\n", filepath.Base(v.cmd[0]), abbrev(strings.Join(v.cmd[1:], " ")), r.wall.Seconds(), r.maxRSS/1024)
	return r, nil
}

func measure(ctx context.Context, env []string, name string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, io.MultiWriter(os.Stderr, &stderr)
	cmd.Env = append(os.Environ(), env...)
	// No dirty pages from the previous run are billed to this one.
	syscall.Sync()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %s: %w: %s", name, abbrev(strings.Join(args, " ")), err, abbrev(stderr.String()))
	}
	r := result{wall: time.Since(start)}
	// For sh -c pipelines this is the largest process of the pipeline
	// (RUSAGE_CHILDREN semantics of wait4 on the shell).
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	return r, nil
}

func splitAddr(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, "3306"
	}
	return addr[:i], addr[i+1:]
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64) // 0 when the size is unknown
	return n
}

func numCPU() int { return runtime.NumCPU() }
