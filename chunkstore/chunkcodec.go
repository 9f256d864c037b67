package chunkstore

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"sync"

	"filippo.io/age"
	"github.com/zeebo/blake3"

	"github.com/zuulstate/zuulstate/codec"
	"github.com/zuulstate/zuulstate/snapshot"
)

// Chunk id schemes, named by repo.json's chunk_id.
const (
	// chunkIDBLAKE3 is keyed BLAKE3-256, for new repositories: on 1 MiB
	// chunks it hashes at 3.3 GB/s here against HMAC-SHA256's 1.7 GB/s
	// (with SHA instructions), which was a tenth of a database dump's CPU.
	chunkIDBLAKE3 = "blake3"
	// chunkIDHMAC is HMAC-SHA256, which repositories created by earlier
	// builds keep: a chunk's id never changes.
	chunkIDHMAC = "hmac-sha256"
)

// hasherPool recycles keyed hash states of one scheme and key.
type hasherPool struct {
	pool sync.Pool
}

// newHasherPool hashes with HMAC-SHA256 under key: chunk ids of
// hmac-sha256 repositories, and the keyed hashes that decide where chunks
// end in every repository.
func newHasherPool(key []byte) *hasherPool {
	p := &hasherPool{}
	p.pool.New = func() any { return hmac.New(sha256.New, key) }
	return p
}

// newIDPool hashes chunk ids under key with the repository's scheme (one
// that readConfig accepted).
func newIDPool(scheme string, key []byte) *hasherPool {
	if scheme == chunkIDHMAC {
		return newHasherPool(key)
	}
	p := &hasherPool{}
	p.pool.New = func() any {
		h, err := blake3.NewKeyed(key)
		if err != nil {
			// Every key is 32 bytes: made so, checked when read, or derived.
			panic("chunkstore: " + err.Error())
		}
		return h
	}
	return p
}

// id is the keyed hash of raw. Without the key a reader of the bucket
// cannot compute ids, so it cannot confirm a guess of a chunk's content by
// its name.
func (p *hasherPool) id(raw []byte) ID {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(raw)
	var id ID
	h.Sum(id[:0])
	p.pool.Put(h)
	return id
}

// sealBufs recycles the buffers chunks are compressed and encrypted into:
// allocating them per chunk cost more in garbage collection than the
// encryption itself.
var sealBufs = newBuffers(4*runtime.GOMAXPROCS(0)+4, 0)

// sealChunk compresses raw with the named codec and, with recipients,
// encrypts it as one age file: every chunk can be decoded on its own,
// by hand with `age -d | zstd -d`. The result lives in a pooled buffer
// that release returns.
func sealChunk(raw []byte, compression string, level int, recipients []age.Recipient) (sealed []byte, release func(), err error) {
	c, err := codec.Lookup(compression)
	if err != nil {
		return nil, nil, err
	}
	zb := sealBufs.get()
	compressed, err := c.EncodeBlock((*zb)[:0], raw, level)
	*zb = compressed[:0]
	if err != nil {
		sealBufs.put(zb)
		return nil, nil, fmt.Errorf("compress chunk: %w", err)
	}
	if len(recipients) == 0 {
		return compressed, func() { sealBufs.put(zb) }, nil
	}
	ab := sealBufs.get()
	buf := bytes.NewBuffer((*ab)[:0])
	buf.Grow(len(compressed) + 256 + len(compressed)/(64<<10)*16)
	release = func() {
		*ab = buf.Bytes()[:0]
		sealBufs.put(ab)
		sealBufs.put(zb)
	}
	w, err := age.Encrypt(buf, recipients...)
	if err == nil {
		_, err = w.Write(compressed)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("encrypt chunk: %w", err)
	}
	return buf.Bytes(), release, nil
}

// openChunk reverses sealChunk for the chunk id stored at loc, appending the
// raw bytes to dst. With ids (the chunk-id key) it checks the raw bytes
// against id, which proves them even against someone who can write to the
// bucket and knows the age public keys; the stored bytes' sha256 is then
// checked only when checkStored asks for it (verify --deep re-hashes every
// stored byte; a restore's id check already proves them). Every mismatch
// wraps snapshot.ErrCorrupt; a missing identity wraps
// snapshot.ErrNoIdentity.
func openChunk(dst, stored []byte, id ID, loc Location, identities []age.Identity, ids *hasherPool, checkStored bool) ([]byte, error) {
	if checkStored || ids == nil {
		if got := sha256.Sum256(stored); got != loc.StoredSHA {
			return nil, fmt.Errorf("chunk %s in %s: %w: stored bytes differ from the index", id, loc.Pack, snapshot.ErrCorrupt)
		}
	}
	compressed := stored
	if loc.Encrypted {
		if len(identities) == 0 {
			return nil, fmt.Errorf("chunk %s is encrypted: %w: configure encryption.identity_file (or ZUULSTATE_AGE_IDENTITY_FILE)", id, snapshot.ErrNoIdentity)
		}
		r, err := age.Decrypt(bytes.NewReader(stored), identities...)
		if err != nil {
			var noMatch *age.NoIdentityMatchError
			if errors.As(err, &noMatch) {
				return nil, fmt.Errorf("chunk %s: %w: the configured identity is not one of the recipients it was encrypted to", id, snapshot.ErrNoIdentity)
			}
			return nil, fmt.Errorf("chunk %s: %w: age header: %w", id, snapshot.ErrCorrupt, err)
		}
		// The plaintext is shorter than the ciphertext: one buffer of
		// that size, recycled, holds it without growing.
		db := sealBufs.get()
		defer sealBufs.put(db)
		buf := bytes.NewBuffer((*db)[:0])
		buf.Grow(len(stored) + bytes.MinRead)
		_, err = buf.ReadFrom(r)
		*db = buf.Bytes()[:0]
		if err != nil {
			return nil, fmt.Errorf("chunk %s: %w: decrypt: %w", id, snapshot.ErrCorrupt, err)
		}
		compressed = buf.Bytes()
	}
	c, err := codec.Lookup(loc.Compression)
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", id, err)
	}
	start := len(dst)
	out, err := c.DecodeBlock(dst, compressed, int(loc.RawSize))
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w: decompress: %w", id, snapshot.ErrCorrupt, err)
	}
	raw := out[start:]
	if len(raw) != int(loc.RawSize) {
		return nil, fmt.Errorf("chunk %s: %w: %d raw bytes, the index says %d", id, snapshot.ErrCorrupt, len(raw), loc.RawSize)
	}
	if ids != nil && ids.id(raw) != id {
		return nil, fmt.Errorf("chunk %s: %w: its content does not match its id", id, snapshot.ErrCorrupt)
	}
	return out, nil
}
