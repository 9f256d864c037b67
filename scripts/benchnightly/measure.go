package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is one measured run: wall time and the tool process's peak RSS
// (ru_maxrss from wait4).
type result struct {
	wall, cpu time.Duration // cpu: user + system of the process and its children
	maxRSS    int64         // KiB
}

func usage(ps *os.ProcessState) (cpu time.Duration, maxRSS int64) {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss
	}
	return ps.UserTime() + ps.SystemTime(), maxRSS
}

// measure runs one command after a sync (no dirty pages of the previous
// run are billed to this one), as scripts/benchvol and benchdb do. env is
// added to the environment; stdout is returned.
func measure(ctx context.Context, env []string, argv ...string) (result, string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(os.Stderr, &stderr)
	cmd.Env = append(os.Environ(), env...)
	syscall.Sync()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, "", fmt.Errorf("%s: %w: %s", abbrev(strings.Join(argv, " ")), err, abbrev(stderr.String()))
	}
	r := result{wall: time.Since(start)}
	r.cpu, r.maxRSS = usage(cmd.ProcessState)
	return r, stdout.String(), nil
}

// measurePipe runs `producer | tool` as two processes joined by a pipe,
// timed from the start of both to the end of both; the RSS is the tool's
// own (the producer's is returned apart), the CPU time both processes'.
func measurePipe(ctx context.Context, env []string, producer, tool []string) (r result, producerRSS int64, err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return result{}, 0, err
	}
	src := exec.CommandContext(ctx, producer[0], producer[1:]...)
	dst := exec.CommandContext(ctx, tool[0], tool[1:]...)
	var srcErr, dstErr bytes.Buffer
	src.Stdout, src.Stderr = pw, io.MultiWriter(os.Stderr, &srcErr)
	dst.Stdin, dst.Stdout, dst.Stderr = pr, io.Discard, io.MultiWriter(os.Stderr, &dstErr)
	src.Env, dst.Env = append(os.Environ(), env...), append(os.Environ(), env...)
	syscall.Sync()
	start := time.Now()
	if err := dst.Start(); err != nil {
		pr.Close()
		pw.Close()
		return result{}, 0, err
	}
	err = src.Start()
	// The children hold their own ends now.
	pr.Close()
	pw.Close()
	if err != nil {
		_ = dst.Process.Kill()
		_ = dst.Wait()
		return result{}, 0, err
	}
	errSrc, errDst := src.Wait(), dst.Wait()
	r.wall = time.Since(start)
	if errSrc != nil {
		return r, 0, fmt.Errorf("%s: %w: %s", abbrev(strings.Join(producer, " ")), errSrc, abbrev(srcErr.String()))
	}
	if errDst != nil {
		return r, 0, fmt.Errorf("%s: %w: %s", abbrev(strings.Join(tool, " ")), errDst, abbrev(dstErr.String()))
	}
	// The CPU time is both processes': zuulstate's mariadb source does
	// the dump's work itself.
	var producerCPU time.Duration
	r.cpu, r.maxRSS = usage(dst.ProcessState)
	producerCPU, producerRSS = usage(src.ProcessState)
	r.cpu += producerCPU
	return r, producerRSS, nil
}

// diskUsage is `du -sb DIR`: apparent sizes of everything under dir,
// directories included, the same rule for both tools' repositories.
func diskUsage(ctx context.Context, dir string) (int64, error) {
	out, err := exec.CommandContext(ctx, "du", "-sb", dir).Output()
	if err != nil {
		return 0, fmt.Errorf("du -sb %s: %w", dir, err)
	}
	field, _, _ := strings.Cut(string(out), "\t")
	return strconv.ParseInt(strings.TrimSpace(field), 10, 64)
}

// run runs an untimed helper command.
func run(ctx context.Context, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w: %s", abbrev(strings.Join(argv, " ")), err, abbrev(stderr.String()))
	}
	return string(out), nil
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
