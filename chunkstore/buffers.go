package chunkstore

// buffers is a bounded free list of byte buffers. Unlike sync.Pool it keeps
// its buffers across garbage collections: the chunk pipeline cycles through
// a few large buffers, and reallocating (and zeroing) them after every
// collection cost more CPU than compressing. At most cap buffers are kept;
// more are left to the collector.
type buffers struct {
	free chan *[]byte
	size int // capacity of a new buffer
}

func newBuffers(keep, size int) *buffers {
	return &buffers{free: make(chan *[]byte, keep), size: size}
}

func (b *buffers) get() *[]byte {
	select {
	case buf := <-b.free:
		return buf
	default:
		buf := make([]byte, 0, b.size)
		return &buf
	}
}

func (b *buffers) put(buf *[]byte) {
	*buf = (*buf)[:0]
	select {
	case b.free <- buf:
	default:
	}
}
