package monitor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Registry turns a run's status into Prometheus metrics. Every metric is
// a gauge: each run replaces the previous values.
func Registry(s *Status) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	if s.ToolVersion != "" {
		// The usual build_info shape: the value is 1, the version a label,
		// so a dashboard or an alert can tell which build ran.
		info := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zuulstate_build_info", Help: "The zuulstate build that wrote these metrics (version label, git describe).",
			ConstLabels: prometheus.Labels{"version": s.ToolVersion},
		})
		info.Set(1)
		reg.MustRegister(info)
	}
	gauge("zuulstate_backup_last_attempt_timestamp_seconds", "When the last backup run finished, successful or not (Unix time).", unix(s.Finished))
	ok := 0.0
	if s.Succeeded() {
		ok = 1
	}
	gauge("zuulstate_backup_last_success", "1 if the last backup run succeeded, 0 if it failed.", ok)
	gauge("zuulstate_backup_duration_seconds", "How long the last backup run took.", s.Finished.Sub(s.Started).Seconds())
	if !s.LastSuccess.IsZero() {
		gauge("zuulstate_backup_last_success_timestamp_seconds", "When the last successful backup run finished (Unix time).", unix(s.LastSuccess))
	}
	if s.Snapshots >= 0 {
		gauge("zuulstate_repository_snapshots", "Snapshots in the repository after the last run.", float64(s.Snapshots))
	}
	vec := func(name, help string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"source"})
		reg.MustRegister(v)
		return v
	}
	dur := vec("zuulstate_backup_source_duration_seconds", "How long each source took in the last run.")
	raw := vec("zuulstate_backup_source_raw_bytes", "Bytes each source produced in the last run, before compression.")
	stored := vec("zuulstate_backup_source_stored_bytes", "Bytes each source stored in the last run, after compression and encryption.")
	srcOK := vec("zuulstate_backup_source_success", "1 if the source completed in the last run, 0 if it failed or was cancelled.")
	for _, src := range s.Sources {
		dur.WithLabelValues(src.Source).Set(src.Seconds)
		raw.WithLabelValues(src.Source).Set(float64(src.RawBytes))
		stored.WithLabelValues(src.Source).Set(float64(src.StoredBytes))
		v := 0.0
		if src.OK {
			v = 1
		}
		srcOK.WithLabelValues(src.Source).Set(v)
	}
	return reg
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// WriteTextfile writes the metrics for node_exporter's textfile collector:
// into a temporary file in the same directory, then renamed over path, so
// the collector never reads a half-written file.
func WriteTextfile(path string, reg prometheus.Gatherer) error {
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write metrics textfile %s: %w", path, err)
	}
	return nil
}

// PushOptions say where and how metrics are pushed.
type PushOptions struct {
	URL, Job, Instance string
	// Operation, when set, is one more grouping label: a drill's metrics
	// are a group of their own (DrillOperation).
	Operation          string
	Username, Password string
	CAFile             string
	Timeout            time.Duration
}

// Push replaces the metrics of this job and instance on a Pushgateway.
func Push(ctx context.Context, o PushOptions, reg prometheus.Gatherer) error {
	client := &http.Client{}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return fmt.Errorf("pushgateway ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("pushgateway ca_file %s holds no PEM certificate", o.CAFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	p := push.New(o.URL, o.Job).Gatherer(reg).Client(client)
	if o.Instance != "" {
		p = p.Grouping("instance", o.Instance)
	}
	if o.Operation != "" {
		p = p.Grouping("operation", o.Operation)
	}
	if o.Username != "" {
		p = p.BasicAuth(o.Username, o.Password)
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("push metrics to %s: %w", o.URL, err)
	}
	return nil
}
