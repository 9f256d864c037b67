package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// ensureTree builds the bench tree unless a complete one is there (its
// marker node holds the node count).
func ensureTree(ctx context.Context, addr string) (int, float64, error) {
	specs := zktest.ZuulTree(shape)
	var data int
	for _, s := range specs {
		data += len(s.Data)
	}
	avg := float64(data) / float64(len(specs))
	root, err := connect(ctx, addr, "")
	if err != nil {
		return 0, 0, err
	}
	defer root.Close()
	want := fmt.Sprint(len(specs))
	if got, _, err := root.Get(ctx, benchRoot+"-ready"); err == nil && string(got) == want {
		return len(specs), avg, nil
	}
	fmt.Printf("building the bench tree (%d nodes) under %s\n", len(specs), benchRoot)
	if err := zktest.DeleteTree(ctx, root, benchRoot); err != nil {
		return 0, 0, err
	}
	if _, err := root.Create(ctx, benchRoot, nil, 0, zktest.Open); err != nil {
		return 0, 0, err
	}
	c, err := connect(ctx, addr, benchRoot)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := zktest.BuildContext(ctx, c, specs); err != nil {
		return 0, 0, err
	}
	_ = root.Delete(ctx, benchRoot+"-ready")
	_, err = root.Create(ctx, benchRoot+"-ready", []byte(want), 0, zktest.Open)
	return len(specs), avg, err
}

// deleteTree removes the bench tree and its marker.
func deleteTree(ctx context.Context, addr string) error {
	root, err := connect(ctx, addr, "")
	if err != nil {
		return err
	}
	defer root.Close()
	_ = root.Delete(ctx, benchRoot+"-ready")
	return zktest.DeleteTree(ctx, root, benchRoot)
}

// baselineExport reads every node with one request at a time: data and
// stat, ACL, and the children when there are any.
func baselineExport(ctx context.Context, addr string) (result, error) {
	c, err := connect(ctx, addr, benchRoot)
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	start := time.Now()
	n := 0
	var walk func(p string) error
	walk = func(p string) error {
		_, st, err := c.Get(ctx, p)
		if err != nil {
			return err
		}
		if _, _, err := c.GetACL(ctx, p); err != nil {
			return err
		}
		n++
		if st.NumChildren == 0 {
			return nil
		}
		names, _, err := c.Children(ctx, p)
		for _, name := range names {
			if err == nil {
				err = walk(zktree.Join(p, name))
			}
		}
		return err
	}
	for _, top := range []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul", "/zuul-system"} {
		if err := walk(top); err != nil {
			return result{}, err
		}
	}
	return result{nodes: n, wall: time.Since(start)}, nil
}

// baselineRestore creates nodes one at a time in a fresh chroot on dev:
// the first max of them (in walk order), or all with max 0.
func baselineRestore(ctx context.Context, prod, dev string, max, run int) (result, error) {
	src, err := connect(ctx, prod, benchRoot)
	if err != nil {
		return result{}, err
	}
	defer src.Close()
	var nodes []*zktree.Node
	errFull := errors.New("enough")
	for _, top := range []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul", "/zuul-system"} {
		_, err := zktree.Walk(ctx, src, top, zktree.WalkOptions{}, func(n *zktree.Node) error {
			if max > 0 && len(nodes) >= max {
				return errFull
			}
			nodes = append(nodes, n)
			return nil
		})
		if err != nil && !errors.Is(err, errFull) {
			return result{}, err
		}
	}
	_, c, cleanup, err := scratch(ctx, dev, fmt.Sprintf("baseline-%d", run))
	if err != nil {
		return result{}, err
	}
	defer cleanup()
	start := time.Now()
	for _, n := range nodes {
		if _, err := c.Create(ctx, n.Path, n.Data, 0, n.ACL); err != nil {
			return result{}, fmt.Errorf("create %s: %w", n.Path, err)
		}
	}
	return result{nodes: len(nodes), wall: time.Since(start)}, nil
}

// scratch makes an empty chroot on dev, deleted by cleanup.
func scratch(ctx context.Context, addr, name string) (string, *zkconn.Client, func(), error) {
	chroot := fmt.Sprintf("/zuulstate-benchzk-%s-%d", name, time.Now().UnixNano())
	root, err := connect(ctx, addr, "")
	if err != nil {
		return "", nil, nil, err
	}
	if _, err := root.Create(ctx, chroot, nil, 0, zktest.Open); err != nil {
		root.Close()
		return "", nil, nil, err
	}
	c, err := connect(ctx, addr, chroot)
	if err != nil {
		root.Close()
		return "", nil, nil, err
	}
	return chroot, c, func() {
		c.Close()
		_ = zktest.DeleteTree(context.WithoutCancel(ctx), root, chroot)
		root.Close()
	}, nil
}

func writeConfig(dir, prod, dev string) (string, error) {
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, "zuulstate.yaml")
	y := fmt.Sprintf("repository:\n  local: {path: %s}\nsources:\n  zookeeper:\n    servers: [%s]\n    chroot: %s\n    profile: all\n"+
		"restore:\n  zookeeper:\n    servers: [%s]\n    chroot: /CHROOT\n", repo, prod, benchRoot, dev)
	return cfg, os.WriteFile(cfg, []byte(y), 0o600)
}

// zuulstate runs the binary and returns its wall time and peak RSS. The
// peak is VmHWM from /proc, polled until the process ends: wait4's maxrss
// would count this process's memory, which the child shares until exec.
func zuulstate(ctx context.Context, bin, cfg string, nodes int, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", cfg}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var hwm int64
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	for {
		if b, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				var kb int64
				if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil && kb > hwm {
					hwm = kb
				}
			}
		}
		select {
		case err := <-done:
			if err != nil {
				return result{}, fmt.Errorf("%v: %w\n%s", args, err, out.String())
			}
			return result{nodes: nodes, wall: time.Since(start), rss: hwm, log: out.String()}, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// zuulstateRestore restores the latest snapshot into a fresh chroot.
func zuulstateRestore(ctx context.Context, bin, dir, prod, dev string, nodes, run int) (result, error) {
	chroot, c, cleanup, err := scratch(ctx, dev, fmt.Sprintf("zuulstate-%d", run))
	if err != nil {
		return result{}, err
	}
	defer cleanup()
	c.Close()
	cfg, err := writeConfig(dir, prod, dev)
	if err != nil {
		return result{}, err
	}
	data, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, bytes.Replace(data, []byte("/CHROOT"), []byte(chroot), 1), 0o600); err != nil {
		return result{}, err
	}
	r, err := zuulstate(ctx, bin, cfg, nodes, "restore", "latest", "--include", "zookeeper")
	if err != nil {
		return r, err
	}
	// The log line of the write phase says how long it took, before the
	// whole tree is read back to verify it.
	for _, line := range strings.Split(r.log, "\n") {
		if _, d, ok := strings.Cut(line, `msg="zookeeper nodes written"`); ok {
			if _, v, ok := strings.Cut(d, " duration="); ok {
				r.write, _ = time.ParseDuration(strings.Fields(v)[0])
			}
		}
	}
	return r, nil
}
