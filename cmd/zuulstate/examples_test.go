package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The shipped examples (examples/cron, systemd, compose, kubernetes) are
// checked for syntax, and every zuulstate command line in them must parse
// with this very command tree, so a renamed flag breaks the build here
// and not in an operator's crontab.

const examplesDir = "../../examples"

// parsesAsCLI checks that args (without the program name) name a command
// and that its flags are accepted.
func parsesAsCLI(t *testing.T, where string, args []string) {
	t.Helper()
	root := newRootCommand()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root {
		t.Fatalf("%s: %q does not name a zuulstate command: %v", where, args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: %q: %v", where, args, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		t.Fatalf("%s: %q: %v", where, args, err)
	}
}

// validCron checks a five-field cron schedule.
func validCron(schedule string) bool {
	fields := strings.Fields(schedule)
	limits := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	if len(fields) != 5 {
		return false
	}
	for i, f := range fields {
		for _, item := range strings.Split(f, ",") {
			rng, step, hasStep := strings.Cut(item, "/")
			if hasStep {
				if n, err := strconv.Atoi(step); err != nil || n < 1 {
					return false
				}
			}
			if rng == "*" {
				continue
			}
			lo, hi, isRange := strings.Cut(rng, "-")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a > b || a < limits[i][0] || b > limits[i][1] {
				return false
			}
		}
	}
	return true
}

func TestValidCron(t *testing.T) {
	for s, want := range map[string]bool{"30 2 * * *": true, "*/15 0-6 1,15 * 1-5": true, "60 2 * * *": false, "30 2 * *": false, "a b c d e": false} {
		if validCron(s) != want {
			t.Errorf("validCron(%q) != %v", s, want)
		}
	}
}

func TestExampleCron(t *testing.T) {
	f, err := os.Open(filepath.Join(examplesDir, "cron", "zuulstate"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var jobs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(strings.SplitN(line, " ", 2)[0], "=") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 8 || !validCron(strings.Join(fields[:5], " ")) || fields[5] != "root" || fields[6] != "/usr/local/bin/zuulstate" {
			t.Fatalf("not a /etc/cron.d line running zuulstate as root: %q", line)
		}
		parsesAsCLI(t, "cron", fields[7:])
		if !strings.Contains(line, "--quiet") {
			t.Errorf("the cron line must be --quiet so cron mails only failures: %q", line)
		}
		jobs = append(jobs, commandOf(fields[7:]))
	}
	if strings.Join(jobs, ",") != "backup,drill" {
		t.Fatalf("cron jobs %v, want backup and drill", jobs)
	}
}

func TestExampleSystemd(t *testing.T) {
	for unit, command := range map[string]string{"zuulstate-backup": "backup", "zuulstate-drill": "drill"} {
		svc, err := os.ReadFile(filepath.Join(examplesDir, "systemd", unit+".service"))
		if err != nil {
			t.Fatal(err)
		}
		var execStart []string
		for _, l := range strings.Split(string(svc), "\n") {
			if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
				execStart = strings.Fields(v)
			}
		}
		if len(execStart) < 2 || execStart[0] != "/usr/local/bin/zuulstate" || commandOf(execStart[1:]) != command {
			t.Fatalf("%s: ExecStart %q", unit, execStart)
		}
		parsesAsCLI(t, "systemd", execStart[1:])
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; only the command lines were checked")
	}
	// verify insists the program exists; the syntax is what is tested.
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"zuulstate-backup.service", "zuulstate-backup.timer", "zuulstate-drill.service", "zuulstate-drill.timer"} {
		data, err := os.ReadFile(filepath.Join(examplesDir, "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), "/usr/local/bin/zuulstate", "/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, filepath.Join(dir, name))
	}
	out, err := exec.CommandContext(t.Context(), analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// commandOf returns the zuulstate command in args, after the global
// flags.
func commandOf(args []string) string {
	root := newRootCommand()
	cmd, _, err := root.Find(args)
	if err != nil {
		return ""
	}
	return cmd.Name()
}

func TestExampleCompose(t *testing.T) {
	var doc struct {
		Services map[string]struct {
			Image    string            `yaml:"image"`
			Profiles []string          `yaml:"profiles"`
			Command  []string          `yaml:"command"`
			Env      map[string]string `yaml:"environment"`
			EnvFile  []string          `yaml:"env_file"`
			Volumes  []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	decodeYAML(t, filepath.Join(examplesDir, "compose", "docker-compose.yaml"), &doc)
	s, ok := doc.Services["zuulstate"]
	if !ok || s.Image == "" || len(s.Profiles) == 0 || s.Env["ZUULSTATE_CONFIG"] == "" {
		t.Fatalf("service zuulstate incomplete: %+v", s)
	}
	parsesAsCLI(t, "compose", s.Command)
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || !filepath.IsAbs(parts[0]) || !filepath.IsAbs(parts[1]) {
			t.Errorf("volume %q is not HOST:CONTAINER[:ro]", v)
		}
	}
	// A container's environment is what docker inspect shows, so secrets
	// come from files the config names, not the environment.
	for k := range s.Env {
		if strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "ACCESS_KEY") {
			t.Errorf("secret %s in the compose file's environment; name a *_file in zuulstate.yaml", k)
		}
	}
	if len(s.EnvFile) > 0 {
		t.Errorf("env_file %v: docker inspect shows its secrets; name *_file paths in zuulstate.yaml", s.EnvFile)
	}
}

func TestExampleKubernetes(t *testing.T) {
	type cronJob struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Schedule          string `yaml:"schedule"`
			ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
			JobTemplate       struct {
				Spec struct {
					Template struct {
						Spec struct {
							RestartPolicy string `yaml:"restartPolicy"`
							Containers    []struct {
								Name  string   `yaml:"name"`
								Image string   `yaml:"image"`
								Args  []string `yaml:"args"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	f, err := os.Open(filepath.Join(examplesDir, "kubernetes", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var commands []string
	for {
		var cj cronJob
		if err := dec.Decode(&cj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if cj.APIVersion != "batch/v1" || cj.Kind != "CronJob" || !validCron(cj.Spec.Schedule) {
			t.Fatalf("%s: apiVersion %q kind %q schedule %q", cj.Metadata.Name, cj.APIVersion, cj.Kind, cj.Spec.Schedule)
		}
		if cj.Spec.ConcurrencyPolicy != "Forbid" {
			t.Errorf("%s: concurrencyPolicy %q: overlapping runs only fight over the lock", cj.Metadata.Name, cj.Spec.ConcurrencyPolicy)
		}
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
			t.Fatalf("%s: restartPolicy %q is not allowed in a Job", cj.Metadata.Name, pod.RestartPolicy)
		}
		if len(pod.Containers) != 1 || pod.Containers[0].Image == "" {
			t.Fatalf("%s: containers %+v", cj.Metadata.Name, pod.Containers)
		}
		parsesAsCLI(t, "kubernetes", pod.Containers[0].Args)
		commands = append(commands, commandOf(pod.Containers[0].Args))
	}
	if strings.Join(commands, ",") != "backup,drill" {
		t.Fatalf("CronJobs run %v, want backup and drill", commands)
	}
}

// decodeYAML parses a YAML file into the fields a test looks at.
func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
