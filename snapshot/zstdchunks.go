package snapshot

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
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

// chunkEncoder compresses a stream as a sequence of independent zstd frames
// (a valid zstd stream; `zstd -d` and every decoder read it) on several
// goroutines, hashes the raw bytes on another, and writes the frames in
// order to dst. Memory is bounded by the number of chunks in flight.
type chunkEncoder struct {
	dst  io.Writer
	zenc *zstd.Encoder
	h    hash.Hash
	n    int64

	cur     *chunkJob
	free    chan *chunkJob
	work    chan *chunkJob
	order   chan *chunkJob
	hashQ   chan *chunkJob
	wg      sync.WaitGroup
	sent    bool
	mu      sync.Mutex
	err     error
	created int
	max     int
}

func newChunkEncoder(dst io.Writer, level, workers int) (*chunkEncoder, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithZeroFrames(true),
		// The frame checksum (xxhash of the raw bytes) would repeat, at 5%
		// of the CPU time, what the raw sha256 in the manifest proves.
		zstd.WithEncoderCRC(false),
	}
	if level < 6 {
		// zstd's own window for levels up to 5; the library's 8 MiB default
		// costs 12 MiB more per worker for 0.01% smaller output.
		opts = append(opts, zstd.WithWindowSize(2<<20))
	}
	zenc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, err
	}
	max := workers + 2
	c := &chunkEncoder{
		dst: dst, zenc: zenc, h: sha256.New(), max: max,
		free: make(chan *chunkJob, max), work: make(chan *chunkJob, max),
		order: make(chan *chunkJob, max), hashQ: make(chan *chunkJob, max),
	}
	for range workers {
		c.wg.Go(c.compress)
	}
	c.wg.Go(c.hash)
	c.wg.Go(c.emit)
	return c, nil
}

func (c *chunkEncoder) compress() {
	for j := range c.work {
		j.out = c.zenc.EncodeAll(j.in, j.out[:0])
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

// recycle waits for the hasher too, then frees the chunk for the producer.
func (c *chunkEncoder) recycle(j *chunkJob) {
	j.refs.Wait()
	j.in = j.in[:0]
	c.free <- j
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

func (c *chunkEncoder) next() *chunkJob {
	if c.created < c.max {
		select {
		case j := <-c.free:
			return j
		default:
		}
		c.created++
		return &chunkJob{in: make([]byte, 0, chunkSize)}
	}
	return <-c.free // backpressure: wait for a chunk to come back
}

// Write copies p into chunks, handing each full chunk to the workers.
func (c *chunkEncoder) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := c.failed(); err != nil {
			return n, err
		}
		if c.cur == nil {
			c.cur = c.next()
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
			c.cur = c.next()
		}
		c.submit()
	}
	close(c.work)
	close(c.hashQ)
	close(c.order)
	c.wg.Wait()
	return c.failed()
}

func (c *chunkEncoder) sum() []byte { return c.h.Sum(nil) }
