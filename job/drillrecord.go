package job

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/monitor"
	"github.com/zuulstate/zuulstate/repository"
)

// recordDrill writes the drill's record (status/last-drill.json) and its
// metrics, apart from the backup's; failure is the drill's one-line
// error, "" when it passed. It returns what failed: as for a
// backup, monitoring that silently stops updating hides a broken restore.
func recordDrill(ctx context.Context, cfg *config.Config, repo *repository.Repository, st *monitor.DrillStatus, failure string, log *slog.Logger) error {
	var errs []error
	st.Finished = time.Now().UTC()
	st.Result = monitor.ResultSuccess
	if failure != "" {
		st.Result, st.Error = monitor.ResultFailure, failure
	}
	if repo != nil {
		if err := monitor.WriteDrillStatus(ctx, repo.Store(), st); err != nil {
			log.Error("could not record the drill in the repository; 'zuulstate check --max-drill-age' will not see it", "error", err)
			errs = append(errs, err)
		}
	}
	reg := monitor.DrillRegistry(st)
	if path := cfg.Metrics.Textfile; path != "" {
		if err := monitor.WriteTextfile(monitor.DrillTextfile(path), reg); err != nil {
			log.Error("could not write the drill's metrics", "error", err)
			errs = append(errs, err)
		}
	}
	if pg := cfg.Metrics.Pushgateway; pg != nil {
		err := monitor.Push(ctx, monitor.PushOptions{URL: pg.URL, Job: pg.Job, Instance: cfg.Host, Operation: monitor.DrillOperation,
			Username: pg.Username, Password: pg.Password.Reveal(), CAFile: pg.CAFile, Timeout: pg.Timeout}, reg)
		if err != nil {
			log.Error("could not push the drill's metrics", "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
