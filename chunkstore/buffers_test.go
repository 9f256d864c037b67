package chunkstore

import "testing"

// TestBuffersDropGrown: a buffer that grew past the free list's size is
// left to the collector, so the list never holds more than keep × size.
func TestBuffersDropGrown(t *testing.T) {
	b := newBuffers(4, 1<<10)
	grown := b.get()
	*grown = append(*grown, make([]byte, 3<<10)...)
	b.put(grown)
	kept := b.get()
	b.put(kept)
	if got := b.get(); cap(*got) != 1<<10 || got == grown {
		t.Fatalf("got a buffer of capacity %d (the grown one: %v), want a new one of 1 KiB", cap(*got), got == grown)
	}
	if len(b.free) != 0 {
		t.Fatalf("%d buffers left in the free list, want 0", len(b.free))
	}
}
