package chunkstore

// buffers is a bounded free list of byte buffers. Unlike sync.Pool it keeps
// its buffers across garbage collections: the chunk pipeline cycles through
// a few large buffers, and reallocating (and zeroing) them after every
// collection cost more CPU than compressing. At most cap buffers are kept;
// more are left to the collector.
type buffers struct {
	free chan *[]byte
	size int  // capacity of a new buffer
	huge bool // back new buffers with huge pages
}

func newBuffers(keep, size int) *buffers {
	return &buffers{free: make(chan *[]byte, keep), size: size}
}

// newHugeBuffers is newBuffers for buffers that are written from their
// start and mostly filled (packs, chunks being gathered): backed by
// transparent huge pages, they cost a page fault per 2 MiB instead of per
// 4 KiB. Buffers that are often filled only in part (ranged reads) stay
// on small pages, which they use no more of than they fill.
func newHugeBuffers(keep, size int) *buffers {
	b := newBuffers(keep, size)
	b.huge = true
	return b
}

func (b *buffers) get() *[]byte {
	select {
	case buf := <-b.free:
		return buf
	default:
		buf := make([]byte, 0, b.size)
		if b.huge {
			adviseHugePages(buf)
		}
		return &buf
	}
}

func (b *buffers) put(buf *[]byte) {
	if b.size > 0 && cap(*buf) > b.size {
		// Grown past its size (a decoded chunk larger than most): kept,
		// every buffer would ratchet up to the largest chunk it once
		// held, and a restore's free list to hundreds of MiB.
		return
	}
	*buf = (*buf)[:0]
	select {
	case b.free <- buf:
	default:
	}
}
