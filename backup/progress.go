package backup

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Progress records, per source, the bytes produced so far and, once a
// source ends, its duration, sizes and error. It feeds the terminal
// progress line while the run goes and the metrics afterwards. Safe for
// concurrent use; a nil *Progress records nothing.
type Progress struct {
	mu      sync.Mutex
	sources []*SourceStats
}

// SourceStats is one source's share of a run.
type SourceStats struct {
	Source string
	Start  time.Time

	raw atomic.Int64 // raw bytes produced so far, including the part being written

	mu          sync.Mutex
	end         time.Time
	parts       int
	rawBytes    int64 // of completed parts
	storedBytes int64
	err         error
}

// SourceSummary is a copy of SourceStats at one moment.
type SourceSummary struct {
	Source      string
	Running     bool
	Duration    time.Duration
	Parts       int
	RawBytes    int64 // while running: produced so far
	StoredBytes int64 // of completed parts
	Err         error
}

// Sources returns a summary per source, in the order they started.
func (p *Progress) Sources() []SourceSummary {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	all := slices.Clone(p.sources)
	p.mu.Unlock()
	out := make([]SourceSummary, 0, len(all))
	for _, s := range all {
		s.mu.Lock()
		sum := SourceSummary{Source: s.Source, Running: s.end.IsZero(), Parts: s.parts, RawBytes: s.raw.Load(), StoredBytes: s.storedBytes, Err: s.err}
		if sum.Running {
			sum.Duration = time.Since(s.Start)
		} else {
			sum.Duration = s.end.Sub(s.Start)
		}
		s.mu.Unlock()
		out = append(out, sum)
	}
	return out
}

func (p *Progress) begin(source string) *SourceStats {
	s := &SourceStats{Source: source, Start: time.Now()}
	if p != nil {
		p.mu.Lock()
		p.sources = append(p.sources, s)
		p.mu.Unlock()
	}
	return s
}

func (p *Progress) end(s *SourceStats, err error) {
	s.mu.Lock()
	s.end, s.err = time.Now(), err
	if err == nil {
		// Completed parts are the exact count; the live counter may
		// include a part that failed and was retried by nobody.
		s.raw.Store(s.rawBytes)
	}
	s.mu.Unlock()
}

func (s *SourceStats) partDone(p snapshot.Part) {
	s.mu.Lock()
	s.parts++
	s.rawBytes += p.RawSize
	s.storedBytes += p.AddedBytes()
	s.mu.Unlock()
}

// counting wraps produce so the bytes it writes show up while it runs.
func (s *SourceStats) counting(produce repository.Produce) repository.Produce {
	return func(ctx context.Context, out io.Writer) (any, error) {
		return produce(ctx, countingWriter{out, &s.raw})
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// Unwrap lets a tar writer find the repository's record sink underneath,
// so unchanged files are reused rather than read (dirtar.RecordSink).
func (c countingWriter) Unwrap() io.Writer { return c.w }
