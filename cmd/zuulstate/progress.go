package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zuulstate/zuulstate/backup"
	"github.com/zuulstate/zuulstate/internal/units"
)

// progressInterval is how often the terminal progress line is redrawn.
const progressInterval = time.Second

// isTerminal reports whether w is a terminal. Cron, systemd and pipes are
// not, so they never get progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// statusLine is stderr on a terminal: log lines first erase the progress
// line, which is redrawn at the next tick, so the two never mix.
type statusLine struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool
}

func (s *statusLine) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	return s.w.Write(p)
}

func (s *statusLine) show(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprint(s.w, "\r\033[K"+line)
	s.shown = true
}

func (s *statusLine) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

func (s *statusLine) clearLocked() {
	if s.shown {
		fmt.Fprint(s.w, "\r\033[K")
		s.shown = false
	}
}

// showProgress redraws a one-line summary (bytes per source) on a
// terminal until the returned function is called. It does nothing under
// --quiet or when stderr is not a terminal.
func (a *app) showProgress(p *backup.Progress) (stop func()) {
	if a.status == nil || a.quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				a.status.clear()
				return
			case <-t.C:
				a.status.show(progressLine(time.Since(start), p.Sources()))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func progressLine(elapsed time.Duration, sources []backup.SourceSummary) string {
	parts := []string{"backup " + elapsed.Round(time.Second).String()}
	for _, s := range sources {
		state := ""
		switch {
		case s.Err != nil:
			state = " failed"
		case !s.Running:
			state = " done"
		}
		parts = append(parts, fmt.Sprintf("%s %s%s", s.Source, units.Bytes(s.RawBytes), state))
	}
	return strings.Join(parts, "  ")
}
