package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// profileEnv names the file the instrumented binary writes its CPU
// profile to; its allocation profile goes to the same name plus .heap.
const profileEnv = "ZUULSTATE_BENCH_CPUPROFILE"

// profiledMain is added to the instrumented binary through go build
// -overlay: the repository's code stays untouched.
const profiledMain = `package main

import (
	"os"
	"runtime/pprof"
)

func startBenchProfile() func() {
	path := os.Getenv("` + profileEnv + `")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// Allocations over the whole run (go tool pprof -sample_index=alloc_space).
		if h, err := os.Create(path + ".heap"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(h, 0)
			h.Close()
		}
	}
}
`

// buildProfiling builds zuulstate with a CPU profile written from the
// start of main to just before its os.Exit, when profileEnv is set, from
// the module in directory module (the source of -bin). Its
// cmd/zuulstate/main.go is copied into an overlay with two lines
// added; if main.go no longer has that shape, it says so.
func buildProfiling(ctx context.Context, module, dir string) (string, error) {
	src, err := filepath.Abs(filepath.Join(module, "cmd/zuulstate/main.go"))
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	text := string(data)
	const entry, exit = "func main() {\n", "\tos.Exit(code)\n"
	if strings.Count(text, entry) != 1 || strings.Count(text, exit) != 1 {
		return "", fmt.Errorf("%s: cannot instrument (expected one %q and one %q)", src, entry, exit)
	}
	text = strings.Replace(text, entry, entry+"\tstopBenchProfile := startBenchProfile()\n", 1)
	text = strings.Replace(text, exit, "\tstopBenchProfile()\n"+exit, 1)
	mainCopy, extra := filepath.Join(dir, "main.go"), filepath.Join(dir, "benchprofile.go")
	if err := os.WriteFile(mainCopy, []byte(text), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(extra, []byte(profiledMain), 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {
		src: mainCopy, filepath.Join(filepath.Dir(src), "zz_benchprofile.go"): extra}})
	if err != nil {
		return "", err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "zuulstate-profiling")
	build := exec.CommandContext(ctx, "go", "build", "-overlay", overlayFile, "-o", bin, "./cmd/zuulstate")
	build.Dir, build.Env = module, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -overlay: %w: %s", err, abbrev(string(out)))
	}
	return bin, nil
}
