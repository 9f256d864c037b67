package chunkstore

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strconv"

	"github.com/zuulstate/zuulstate/chunker"
	"github.com/zuulstate/zuulstate/dirtar"
)

// job is one step of a part in stream order: a chunk to store (raw), the
// cached slices of a reused tar entry (reuse), or the end of a big record
// whose chunks were stored before it (end). Every job holds a token of the
// session's budget until the collector has taken it.
type job struct {
	buf   *[]byte
	raw   []byte
	spans []span
	reuse *cacheEntry
	end   *recordRun

	id   ID
	done chan struct{}
}

// span is the piece of a tar record that lies in a chunk.
type span struct {
	run    *recordRun
	off, n int
	last   bool // the record's last piece: its cache entry can be written
}

// recordRun gathers the chunk slices of one record as they are stored.
type recordRun struct {
	rec       dirtar.Record
	refs      []Ref
	cacheable bool
}

func (w *PartWriter) push(j *job) error {
	select {
	case w.s.tokens <- struct{}{}:
	case <-w.ctx.Done():
		if j.buf != nil {
			w.s.putBuf(j.buf)
		}
		return context.Cause(w.ctx)
	}
	j.done = make(chan struct{})
	w.order <- j
	if j.raw != nil {
		w.work <- j
	} else {
		close(j.done)
	}
	return nil
}

// process names and stores chunks; several run per part.
func (w *PartWriter) process() {
	for j := range w.work {
		if w.failed() == nil {
			j.id = w.s.cs.ids.id(j.raw)
			if w.s.claim(j.id) {
				n, err := w.s.store(w.ctx, j.id, j.raw, w.opts.Compression, w.opts.Level)
				if err != nil {
					w.fail(err)
				} else {
					w.mu.Lock()
					w.stats.NewChunks++
					w.stats.NewBytes += int64(n)
					w.mu.Unlock()
				}
			}
		}
		close(j.done)
	}
}

// collect takes jobs in stream order and writes the chunk list and the new
// parent cache.
func (w *PartWriter) collect() {
	defer close(w.collected)
	for j := range w.order {
		<-j.done
		if w.failed() == nil {
			if err := w.take(j); err != nil {
				w.fail(err)
			}
		}
		if j.buf != nil {
			w.s.putBuf(j.buf)
		}
		<-w.s.tokens
	}
}

func (w *PartWriter) take(j *job) error {
	switch {
	case j.reuse != nil:
		for _, r := range j.reuse.Refs {
			if err := w.list.add(r); err != nil {
				return err
			}
		}
		if w.next != nil {
			return w.next.add(*j.reuse)
		}
	case j.end != nil:
		return w.record(j.end)
	default:
		if err := w.list.add(Ref{ID: j.id, Length: uint32(len(j.raw))}); err != nil {
			return err
		}
		for _, sp := range j.spans {
			if sp.n > 0 {
				sp.run.refs = append(sp.run.refs, Ref{ID: j.id, Offset: uint32(sp.off), Length: uint32(sp.n)})
			}
			if sp.last {
				if err := w.record(sp.run); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *PartWriter) record(run *recordRun) error {
	if w.next == nil || !run.cacheable {
		return nil
	}
	return w.next.add(cacheEntry{Record: run.rec, Refs: run.refs})
}

// segment cuts the bytes written to it (a whole stream, or one big tar
// record) by content on a goroutine of its own.
type segment struct {
	pw   *io.PipeWriter
	done chan error
}

var errSegmentStopped = errors.New("chunkstore: chunking stopped")

func (w *PartWriter) startSegment(run *recordRun) *segment {
	pr, pw := io.Pipe()
	sg := &segment{pw: pw, done: make(chan error, 1)}
	go func() {
		err := w.cutSegment(pr, run)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.CloseWithError(errSegmentStopped) // nothing more is read
		}
		sg.done <- err
	}()
	return sg
}

// scanBufs are FastCDC's windows, one per segment being cut.
var scanBufs = newBuffers(runtime.GOMAXPROCS(0)+2, chunker.BufferSize(chunker.StreamParams))

func (w *PartWriter) cutSegment(r io.Reader, run *recordRun) error {
	scan := scanBufs.get()
	defer scanBufs.put(scan)
	cdc, err := chunker.NewCDC(r, chunker.StreamParams, w.s.cdcKey, (*scan)[:cap(*scan)])
	if err != nil {
		return err
	}
	for {
		b, err := cdc.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		buf := w.s.getBuf()
		*buf = append((*buf)[:0], b...)
		j := &job{buf: buf, raw: *buf}
		if run != nil {
			j.spans = []span{{run: run, n: len(b)}}
		}
		if err := w.push(j); err != nil {
			return err
		}
	}
}

func (sg *segment) write(p []byte) (int, error) { return sg.pw.Write(p) }

func (sg *segment) finish() error {
	sg.pw.Close()
	return <-sg.done
}

// abort stops the segment with cause and returns the chunker's error,
// which is cause or follows from it.
func (sg *segment) abort(cause error) error {
	sg.pw.CloseWithError(cause)
	return <-sg.done
}

// listWriter writes a chunk list line by line, merging a slice that
// continues the previous one in the same chunk (consecutive unchanged
// files of one group) into one line.
type listWriter struct {
	w    io.Writer
	bw   *bufio.Writer
	last Ref
	have bool
	refs int64
	line []byte
}

func (l *listWriter) start() error {
	l.bw = bufio.NewWriterSize(l.w, 64<<10)
	_, err := l.bw.WriteString(chunkListMagic + "\n")
	return err
}

func (l *listWriter) add(r Ref) error {
	if l.have && r.ID == l.last.ID && r.Offset == l.last.Offset+l.last.Length {
		l.last.Length += r.Length
		return nil
	}
	if err := l.flushLast(); err != nil {
		return err
	}
	l.last, l.have = r, true
	return nil
}

func (l *listWriter) flushLast() error {
	if !l.have {
		return nil
	}
	l.line = appendRef(l.line[:0], l.last)
	l.refs++
	_, err := l.bw.Write(l.line)
	return err
}

func (l *listWriter) finish() error {
	if err := l.flushLast(); err != nil {
		return err
	}
	l.have = false
	return l.bw.Flush()
}

func appendRef(line []byte, r Ref) []byte {
	line = hex.AppendEncode(line, r.ID[:])
	line = append(line, ' ')
	line = strconv.AppendUint(line, uint64(r.Offset), 10)
	line = append(line, ' ')
	line = strconv.AppendUint(line, uint64(r.Length), 10)
	return append(line, '\n')
}
