package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/codec"
)

// ErrNoIdentity means an encrypted part was read without an age identity, or
// with one that matches none of its recipients.
var ErrNoIdentity = errors.New("no matching age identity")

// hashReader hashes and counts everything read through it, and remembers a
// failure of the underlying reader so that transport errors are not reported
// as corruption.
type hashReader struct {
	r      io.Reader
	h      hash.Hash
	n      int64
	srcErr error
}

func (c *hashReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.srcErr = err
	}
	return n, err
}

// Decoder reverses Encoder for one part and checks sizes and checksums when
// the stream ends: Read returns an error wrapping ErrCorrupt instead of io.EOF
// when the bytes differ from the manifest. Readers that stop early (a tar
// reader ignores trailing padding) must call Finish to get that check.
type Decoder struct {
	part   Part
	stored *hashReader
	raw    *hashReader
	zr     io.ReadCloser
	err    error
}

// NewDecoder starts decoding src, the stored bytes of part. identities are
// needed only for encrypted parts.
func NewDecoder(src io.Reader, part Part, identities []age.Identity) (*Decoder, error) {
	d := &Decoder{part: part, stored: &hashReader{r: src, h: sha256.New()}}
	var compressed io.Reader = d.stored
	if part.Encryption == EncryptionAge {
		if len(identities) == 0 {
			return nil, fmt.Errorf("part %s/%s is encrypted: %w: configure encryption.identity_file (or ZUULSTATE_AGE_IDENTITY_FILE)", part.Source, part.Name, ErrNoIdentity)
		}
		ar, err := age.Decrypt(d.stored, identities...)
		if err != nil {
			var noMatch *age.NoIdentityMatchError
			if errors.As(err, &noMatch) {
				return nil, fmt.Errorf("part %s/%s: %w: the configured identity is not one of the recipients %v", part.Source, part.Name, ErrNoIdentity, part.Recipients)
			}
			return nil, fmt.Errorf("part %s/%s: %w: age header: %w", part.Source, part.Name, ErrCorrupt, err)
		}
		compressed = ar
	}
	c, err := codec.Lookup(part.Compression)
	if err != nil {
		return nil, fmt.Errorf("part %s/%s: %w", part.Source, part.Name, err)
	}
	zr, err := c.NewStreamReader(compressed)
	if err != nil {
		return nil, err
	}
	d.zr = zr
	d.raw = &hashReader{r: zr, h: sha256.New()}
	return d, nil
}

// overrun bounds how many stored bytes beyond the recorded StoredSize are
// read before a part is declared corrupt, so that an object longer than the
// manifest says (garbage appended, a different object) is never read to its
// end. It leaves room for the zstd decoder's read-ahead.
const overrun = 1 << 20

// Read returns raw bytes. A part that decodes to more than its recorded raw
// size (a decompression bomb, or a part swapped for a bigger one) is stopped
// as soon as it passes that size, never read to its end: no consumer sees
// more than RawSize bytes.
func (d *Decoder) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	// One byte past RawSize is enough to tell "too long" from "exact".
	if room := d.part.RawSize + 1 - d.raw.n; int64(len(p)) > room {
		p = p[:max(room, 0)]
	}
	n, err := d.raw.Read(p)
	if d.raw.n > d.part.RawSize || d.stored.n > d.part.StoredSize+overrun {
		d.err = fmt.Errorf("part %s/%s: %w: stream is longer than the manifest says (raw size %d, stored size %d): stopped reading",
			d.part.Source, d.part.Name, ErrCorrupt, d.part.RawSize, d.part.StoredSize)
		return max(n-int(d.raw.n-d.part.RawSize), 0), d.err
	}
	switch {
	case errors.Is(err, io.EOF):
		d.err = d.check()
		if d.err == nil {
			d.err = io.EOF
		}
		return n, d.err
	case err != nil:
		if d.stored.srcErr != nil {
			d.err = fmt.Errorf("part %s/%s: read stored bytes: %w", d.part.Source, d.part.Name, d.stored.srcErr)
		} else {
			d.err = fmt.Errorf("part %s/%s: %w: %w", d.part.Source, d.part.Name, ErrCorrupt, err)
		}
		return n, d.err
	}
	return n, nil
}

func (d *Decoder) check() error {
	// Trailing garbage after the zstd stream would go unnoticed by zstd.
	// Look at a bounded tail only, not a possibly endless one.
	if n, _ := io.Copy(io.Discard, io.LimitReader(d.stored, overrun)); n > 0 {
		return fmt.Errorf("part %s/%s: %w: unexpected bytes after the end of the stream", d.part.Source, d.part.Name, ErrCorrupt)
	}
	p := d.part
	raw, stored := hex.EncodeToString(d.raw.h.Sum(nil)), hex.EncodeToString(d.stored.h.Sum(nil))
	switch {
	case d.stored.n != p.StoredSize || stored != p.StoredSHA256:
		return fmt.Errorf("part %s/%s: %w: stored bytes differ from the manifest (size %d, want %d; sha256 %s, want %s)", p.Source, p.Name, ErrCorrupt, d.stored.n, p.StoredSize, stored, p.StoredSHA256)
	case d.raw.n != p.RawSize || raw != p.RawSHA256:
		return fmt.Errorf("part %s/%s: %w: decoded data differs from the manifest (size %d, want %d; sha256 %s, want %s)", p.Source, p.Name, ErrCorrupt, d.raw.n, p.RawSize, raw, p.RawSHA256)
	}
	return nil
}

// Finish reads whatever the consumer left unread and returns the result of
// the integrity check (nil when the part is intact).
func (d *Decoder) Finish() error {
	if d.err == nil {
		_, _ = io.Copy(io.Discard, d)
	}
	if errors.Is(d.err, io.EOF) {
		return nil
	}
	return d.err
}

// Close releases the decompressor's goroutines.
func (d *Decoder) Close() error { return d.zr.Close() }
