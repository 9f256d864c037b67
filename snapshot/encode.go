package snapshot

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"runtime"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/codec"
)

// EncodeOptions select how a part's stored bytes are produced.
type EncodeOptions struct {
	// Compression names the codec (codec.Default when empty).
	Compression string
	// Level is the zstd level (1 fastest … 19 smallest); 0 means 3, the
	// zstd command's default.
	Level int
	// Concurrency is the number of goroutines compressing chunks; 0 means
	// GOMAXPROCS.
	Concurrency int
	// Recipients encrypt the part with age when non-empty. Only public keys
	// are needed on the backup host.
	Recipients []age.Recipient
}

// Sums are the sizes and checksums of one encoded part.
type Sums struct {
	RawSize      int64
	RawSHA256    string
	StoredSize   int64
	StoredSHA256 string
}

// hashCounter hashes and counts everything written through it.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashCounter(w io.Writer) *hashCounter { return &hashCounter{w: w, h: sha256.New()} }

func (c *hashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (c *hashCounter) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// Encoder turns a raw stream into stored bytes: sha256 of the raw bytes, zstd,
// then optionally age. Nothing is buffered beyond the chunks in flight (a few
// MiB per core) and age's 64 KiB chunks.
type Encoder struct {
	raw    *chunkEncoder
	stored *hashCounter
	out    *bufio.Writer
	aw     io.WriteCloser
	closed bool
	codec  string
}

// Compression is the codec name to record with the part.
func (e *Encoder) Compression() string { return e.codec }

// NewEncoder starts encoding into dst.
func NewEncoder(dst io.Writer, opts EncodeOptions) (*Encoder, error) {
	// Age emits 64 KiB chunks; batching them into 1 MiB writes keeps the
	// hand-offs to the store's goroutine (an io.Pipe) few.
	out := bufio.NewWriterSize(dst, 1<<20)
	e := &Encoder{out: out, stored: newHashCounter(out)}
	var compressed io.Writer = e.stored
	if len(opts.Recipients) > 0 {
		aw, err := age.Encrypt(e.stored, opts.Recipients...)
		if err != nil {
			return nil, fmt.Errorf("start age encryption: %w", err)
		}
		e.aw = aw
		compressed = aw
	}
	level := opts.Level
	if level == 0 {
		level = 3
	}
	workers := opts.Concurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c, err := codec.Lookup(cmp.Or(opts.Compression, codec.Default))
	if err != nil {
		return nil, err
	}
	if _, err := c.EncodeBlock(nil, nil, level); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name(), err)
	}
	e.codec = c.Name()
	e.raw = newChunkEncoder(compressed, c, level, workers)
	return e, nil
}

// Write accepts raw bytes.
func (e *Encoder) Write(p []byte) (int, error) { return e.raw.Write(p) }

// Close flushes zstd and age. It must be called for the stored bytes to be
// complete; Sums is valid only after a successful Close.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if err := e.raw.Close(); err != nil {
		return fmt.Errorf("finish zstd: %w", err)
	}
	if e.aw != nil {
		if err := e.aw.Close(); err != nil {
			return fmt.Errorf("finish age encryption: %w", err)
		}
	}
	return e.out.Flush()
}

// Sums returns the sizes and checksums of what was encoded.
func (e *Encoder) Sums() Sums {
	return Sums{RawSize: e.raw.n, RawSHA256: hex.EncodeToString(e.raw.sum()), StoredSize: e.stored.n, StoredSHA256: e.stored.sum()}
}
