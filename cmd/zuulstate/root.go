package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// app carries what every command shares: global flags, the loaded
// configuration and the logger.
type app struct {
	configPath string
	logFormat  string
	quiet      bool
	verbose    bool

	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
	cfg            *config.Config
	// status is stderr when it is a terminal: the progress line lives
	// there and log lines erase it first. nil otherwise.
	status *statusLine
}

const defaultConfigPath = "/etc/zuulstate/zuulstate.yaml"

func newRootCommand() *cobra.Command {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	root := &cobra.Command{
		Use:   "zuulstate",
		Short: "Back up and restore the persistent state of a Zuul CI deployment",
		Long: `zuulstate writes versioned, checksummed, compressed and optionally encrypted
snapshots of a Zuul deployment's state to S3-compatible storage or a local
directory, and restores them.`,
		Version:       toolVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	// The template is plain text: versionLine holds no template actions.
	root.SetVersionTemplate(versionLine())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&a.configPath, "config", "c", "", "configuration file (default $ZUULSTATE_CONFIG or "+defaultConfigPath+")")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "log only warnings and errors (for cron)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log debug details")
	root.AddCommand(
		newBackupCommand(a),
		newSnapshotsCommand(a),
		newShowCommand(a),
		newVerifyCommand(a),
		newRestoreCommand(a),
		newDrillCommand(a),
		newDiffCommand(a),
		newPruneCommand(a),
		newUnlockCommand(a),
		newConfigCommand(a),
		newKeygenCommand(a),
		newVolumesHelperCommand(a),
		newCheckCommand(a),
	)
	return root
}

func (a *app) setupLogging() error {
	level := slog.LevelInfo
	switch {
	case a.quiet:
		level = slog.LevelWarn
	case a.verbose:
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	logOut := a.stderr
	if a.logFormat == "text" && isTerminal(a.stderr) {
		a.status = &statusLine{w: a.stderr}
		logOut = a.status
	}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(logOut, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(logOut, opts))
	default:
		return usageError{fmt.Errorf("--log-format %q: use text or json", a.logFormat)}
	}
	return nil
}

// config loads the configuration once.
func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path := a.configPath
	if path == "" {
		path = a.getenv("ZUULSTATE_CONFIG")
	}
	if path == "" {
		path = defaultConfigPath
	}
	cfg, err := config.Load(path, a.getenv)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	return cfg, nil
}

// repository loads the configuration and opens the repository it names.
func (a *app) repository(ctx context.Context) (*repository.Repository, *config.Config, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	repo, err := config.OpenRepository(ctx, cfg)
	if err == nil {
		repo, err = armCrashpoint(repo)
	}
	if err != nil {
		return nil, nil, err
	}
	return repo, cfg, nil
}

// snapshot opens the repository and loads the manifest that ref names.
func (a *app) snapshot(ctx context.Context, ref string) (*snapshot.Manifest, *repository.Repository, error) {
	repo, _, err := a.repository(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := manifest(ctx, repo, ref)
	return m, repo, err
}

// manifest loads the manifest that ref (an id, a unique id prefix, latest
// or latest~N) names.
func manifest(ctx context.Context, repo *repository.Repository, ref string) (*snapshot.Manifest, error) {
	id, err := repo.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return repo.Manifest(ctx, id)
}

// exactlyOneArg is cobra.ExactArgs with a usage error naming the argument.
func exactlyOneArg(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError{fmt.Errorf("expected one argument: %s", name)}
		}
		return nil
	}
}
