package chunkstore

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms Go
// runs Linux on (x86-64, arm64 with 4 KiB pages).
const hugePage = 2 << 20

// adviseHugePages asks the kernel to back the 2 MiB-aligned pages inside b
// with transparent huge pages, before b is first written. A pack buffer is
// otherwise 4,000 first-touch page faults, each 10–15 µs on the
// paravirtualized machines measured here (BENCHMARKS.md). Where
// transparent huge pages are off, or b is not fresh memory, this changes
// nothing.
func adviseHugePages(b []byte) {
	if cap(b) < 2*hugePage {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))
	from := (base + hugePage - 1) &^ (hugePage - 1)
	to := (base + uintptr(cap(b))) &^ (hugePage - 1)
	if to <= from {
		return
	}
	_ = unix.Madvise(b[from-base:to-base:to-base], unix.MADV_HUGEPAGE)
}
