package snapshot

import (
	"crypto/sha256"
	"hash"
	"io"
	"runtime"
	"sync"

	"github.com/zuulstate/zuulstate/codec"
)

// chunkSize is the raw size of each zstd frame. Frames are compressed
// independently so that every core works on the stream, the way `zstd -T0`
// splits its input into jobs; at 4 MiB the ratio is within 0.01% of one
// long frame on build logs (BENCHMARKS.md).
const chunkSize = 4 << 20

// chunkJob is one chunk on its way through the encoder. It is recycled once
// both the hasher and the emitter are done with it.
type chunkJob struct {
	in, out []byte
	done    chan struct{} // closed when out holds the compressed frame
	refs    sync.WaitGroup
}

// Chunks in flight (compressing, hashing or waiting to be written) and zstd
// encoder states are budgeted for the whole
// process, not per part: a database dump writes one part per worker at
// once, and per-part buffers (workers+2 chunks of 2×4 MiB each, plus a
// zstd state per worker) grew with workers × cores, about 2 GiB on a
// 16-core host. With one budget, memory depends on GOMAXPROCS only
// (BENCHMARKS.md), and the cores are shared by whichever parts have data.
var (
	chunkTokens = make(chan struct{}, runtime.GOMAXPROCS(0)+2)
	chunkJobs   = sync.Pool{New: func() any { return &chunkJob{in: make([]byte, 0, chunkSize)} }}
)

// newJob returns an empty chunk to fill. Filling is not budgeted: each
// encoder fills one chunk at a time.
func newJob() *chunkJob { return chunkJobs.Get().(*chunkJob) }

// startJob takes a token from the budget for a full chunk about to be
// compressed, waiting for a chunk of any encoder to finish. Only chunks in
// flight hold tokens and each finishes on its own, so this never
// deadlocks, even when one goroutine writes several parts in turn.
func startJob() { chunkTokens <- struct{}{} }

// finishJob returns a compressed and written chunk and its token.
func finishJob(j *chunkJob) {
	putJob(j)
	<-chunkTokens
}

func putJob(j *chunkJob) {
	j.in, j.out, j.done = j.in[:0], j.out[:0], nil
	chunkJobs.Put(j)
}

// chunkEncoder compresses a stream as a sequence of independent zstd frames
// (a valid zstd stream; `zstd -d` and every decoder read it) on several
// goroutines, hashes the raw bytes on another, and writes the frames in
// order to dst. Memory is bounded by the process-wide chunk budget.
type chunkEncoder struct {
	dst   io.Writer
	codec codec.Codec
	level int
	h     hash.Hash
	n     int64

	cur   *chunkJob
	work  chan *chunkJob
	order chan *chunkJob
	hashQ chan *chunkJob
	wg    sync.WaitGroup
	sent  bool
	mu    sync.Mutex
	err   error
}

func newChunkEncoder(dst io.Writer, cd codec.Codec, level, workers int) *chunkEncoder {
	depth := cap(chunkTokens)
	c := &chunkEncoder{
		dst: dst, codec: cd, level: level, h: sha256.New(),
		work: make(chan *chunkJob, depth), order: make(chan *chunkJob, depth), hashQ: make(chan *chunkJob, depth),
	}
	for range workers {
		c.wg.Go(c.compress)
	}
	c.wg.Go(c.hash)
	c.wg.Go(c.emit)
	return c
}

func (c *chunkEncoder) compress() {
	for j := range c.work {
		out, err := c.codec.EncodeBlock(j.out[:0], j.in, c.level)
		if err != nil {
			c.fail(err)
		}
		j.out = out
		close(j.done)
	}
}

func (c *chunkEncoder) hash() {
	for j := range c.hashQ {
		c.h.Write(j.in)
		j.refs.Done()
	}
}

func (c *chunkEncoder) emit() {
	for j := range c.order {
		<-j.done
		if c.failed() == nil {
			if _, err := c.dst.Write(j.out); err != nil {
				c.fail(err)
			}
		}
		j.refs.Done()
		c.recycle(j)
	}
}

// recycle waits for the hasher too, then returns the chunk to the budget.
func (c *chunkEncoder) recycle(j *chunkJob) {
	j.refs.Wait()
	finishJob(j)
}

func (c *chunkEncoder) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *chunkEncoder) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Write copies p into chunks, handing each full chunk to the workers.
func (c *chunkEncoder) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := c.failed(); err != nil {
			return n, err
		}
		if c.cur == nil {
			c.cur = newJob()
		}
		k := copy(c.cur.in[len(c.cur.in):cap(c.cur.in)], p)
		c.cur.in = c.cur.in[:len(c.cur.in)+k]
		p, n = p[k:], n+k
		if len(c.cur.in) == cap(c.cur.in) {
			c.submit()
		}
	}
	return n, nil
}

func (c *chunkEncoder) submit() {
	startJob()
	j := c.cur
	c.cur, c.sent = nil, true
	c.n += int64(len(j.in))
	j.done = make(chan struct{})
	j.refs.Add(2)
	c.hashQ <- j
	c.order <- j
	c.work <- j
}

// Close compresses the last partial chunk (an empty stream still gets one
// empty frame, so the part is a valid zstd file), waits for every goroutine
// and returns the first write error.
func (c *chunkEncoder) Close() error {
	if c.cur != nil && len(c.cur.in) > 0 || !c.sent {
		if c.cur == nil {
			c.cur = newJob()
		}
		c.submit()
	}
	if c.cur != nil { // empty, after the stream failed
		putJob(c.cur)
		c.cur = nil
	}
	close(c.work)
	close(c.hashQ)
	close(c.order)
	c.wg.Wait()
	return c.failed()
}

func (c *chunkEncoder) sum() []byte { return c.h.Sum(nil) }
