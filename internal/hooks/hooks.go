// Package hooks runs the operator's pre and post backup commands: argv
// lists without a shell, each in its own process group with a timeout that
// kills the whole group, with the secrets zuulstate reads from the
// environment removed from theirs.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Command is one hook.
type Command struct {
	Argv    []string
	Timeout time.Duration
}

// Runner runs hooks of one kind ("pre" or "post").
type Runner struct {
	Kind string
	Log  *slog.Logger
	// Env is the environment hooks start from (os.Environ() outside tests);
	// secrets are filtered out of it.
	Env []string
	// Grace is how long a timed-out hook gets between SIGTERM and SIGKILL.
	Grace time.Duration
}

// Error is a failed hook.
type Error struct {
	Kind string
	Argv []string
	Err  error
	// Output is the last line the hook printed, if any.
	Output string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s hook %s: %v", e.Kind, e.Argv[0], e.Err)
	if e.Output != "" {
		msg += " (last output: " + e.Output + ")"
	}
	return msg
}
func (e *Error) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by the error of a hook killed for its timeout.
var ErrTimeout = errors.New("timed out; killed with its process group")

// Run runs cmds in order and stops at the first failure. extra is added to
// each hook's environment (ZUULSTATE_SNAPSHOT_ID and so on).
func (r Runner) Run(ctx context.Context, cmds []Command, extra map[string]string) error {
	for _, c := range cmds {
		if err := r.run(ctx, c, extra); err != nil {
			return err
		}
	}
	return nil
}

// RunAll runs every command even if some fail (post hooks: each one may
// clean up something different) and joins the errors.
func (r Runner) RunAll(ctx context.Context, cmds []Command, extra map[string]string) error {
	var errs []error
	for _, c := range cmds {
		errs = append(errs, r.run(ctx, c, extra))
	}
	return errors.Join(errs...)
}

func (r Runner) run(ctx context.Context, c Command, extra map[string]string) error {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	grace := r.Grace
	if grace == 0 {
		grace = 10 * time.Second
	}
	tctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, ErrTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = environment(r.Env, r.Kind, extra)
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	// A leader that ignores SIGTERM is killed after the grace; children
	// still holding the output pipe do not keep Wait waiting longer.
	cmd.WaitDelay = grace
	start := time.Now()
	log.Info("hook started", "kind", r.Kind, "command", c.Argv[0])
	err := cmd.Run()
	if cmd.Process != nil && tctx.Err() != nil {
		// Whatever of the group survived SIGTERM goes now.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	output := strings.TrimSpace(out.String())
	if err != nil {
		if cause := context.Cause(tctx); cause != nil {
			err = fmt.Errorf("%w after %s", cause, c.Timeout)
			if !errors.Is(cause, ErrTimeout) {
				err = cause
			}
		}
		log.Error("hook failed", "kind", r.Kind, "command", c.Argv[0], "error", err, "output", output)
		return &Error{Kind: r.Kind, Argv: c.Argv, Err: err, Output: lastLine(output)}
	}
	log.Info("hook done", "kind", r.Kind, "command", c.Argv[0], "duration", time.Since(start).Round(time.Millisecond), "output", output)
	return nil
}

// secretVars are the variables zuulstate reads credentials from; a hook
// has no business with them.
var secretVars = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

func environment(base []string, kind string, extra map[string]string) []string {
	if base == nil {
		base = os.Environ()
	}
	var env []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ZUULSTATE_") && name != "ZUULSTATE_CONFIG" {
			continue
		}
		secret := false
		for _, s := range secretVars {
			secret = secret || name == s
		}
		if !secret {
			env = append(env, kv)
		}
	}
	env = append(env, "ZUULSTATE_HOOK="+kind)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// tailBuffer keeps the last max bytes written, so a chatty hook cannot
// fill memory.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
