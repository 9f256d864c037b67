package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// restores restores the last night with each tool -runs times, the tools
// taking turns, every run into a directory of its own; nothing is deleted
// until all runs are done. The first format 3 restore is compared with
// the tree.
func (fb *filesBench) restores(ctx context.Context, dir string) error {
	variants := []struct {
		name string
		argv func(target string) []string
		env  []string
	}{
		{"zuulstate format 3", fb.f3.restore, nil},
		{"zuulstate format 2", fb.f2.restore, nil},
		{"restic", func(target string) []string {
			return []string{"restic", "restore", "latest", "--quiet", "--target", target}
		}, fb.restic.env},
	}
	fb.rep.restores = make([][]result, len(variants))
	for run := range fb.runs {
		for i, v := range variants {
			target := filepath.Join(dir, fmt.Sprintf("%d-%d", i, run))
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			argv, env := v.argv(target), v.env
			if run == 0 && i == 0 && fb.profile != "" {
				argv[0], env = fb.profileBin, []string{profileEnv + "=" + fb.profile + ".restore"}
			}
			r, _, err := measure(ctx, env, argv...)
			if err != nil {
				return err
			}
			fb.logf("restore %d: %s %.2f s", run+1, v.name, r.wall.Seconds())
			fb.rep.restores[i] = append(fb.rep.restores[i], r)
		}
	}
	// zuulstate puts the part in DIR/<part name>.
	return sameTree(fb.tree, filepath.Join(dir, "0-0", "logs"))
}
