package s3

import (
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestPutMemory measures a 2 GiB Put with the default settings: wall time,
// peak heap and peak RSS. It is a measurement, not a pass/fail check of
// speed, and it pushes 2 GiB through the server, so it runs only with
// ZUULSTATE_S3_MEMTEST=1:
//
//	ZUULSTATE_S3_MEMTEST=1 go test -run TestPutMemory -v ./storage/s3
//
// It asserts only the memory bound the Put doc comment promises, with slack
// for readHead's growing buffers and HTTP/TLS garbage between collections.
func TestPutMemory(t *testing.T) {
	if os.Getenv("ZUULSTATE_S3_MEMTEST") != "1" {
		t.Skip("set ZUULSTATE_S3_MEMTEST=1 to measure a 2 GiB upload")
	}
	s := open(t, testConfig(t))
	const size = 2 << 30
	runtime.GC()
	hwmBefore := vmHWM(t)

	// ReadMemStats stops the world only briefly; sampling every 10 ms is
	// enough to see buffers that live for a whole part upload.
	var peakInuse, peakSys uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakInuse, peakSys = max(peakInuse, ms.HeapInuse), max(peakSys, ms.HeapSys)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})

	start := time.Now()
	err := s.Put(t.Context(), "mem", io.LimitReader(newPattern(), size))
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	hwm := vmHWM(t)
	t.Logf("2 GiB Put (part size %d MiB, parallel %d): %v, %.0f MiB/s; peak HeapInuse %d MiB, HeapSys %d MiB; VmHWM %d MiB (%d MiB before)",
		s.partSize>>20, s.parallel, elapsed.Round(time.Millisecond), float64(size>>20)/elapsed.Seconds(),
		peakInuse>>20, peakSys>>20, hwm>>20, hwmBefore>>20)

	oi, err := s.meta.StatObject(t.Context(), s.bucket, s.prefix+"mem", minio.StatObjectOptions{})
	if err != nil || oi.Size != size {
		t.Fatalf("Stat after Put: size %d, %v; want %d", oi.Size, err, size)
	}
	if bound := uint64(s.parallel+1)*uint64(s.partSize) + 24<<20; peakInuse > bound {
		t.Errorf("peak HeapInuse %d MiB exceeds (Parallel+1) × PartSize + 24 MiB = %d MiB", peakInuse>>20, bound>>20)
	}
}

// vmHWM returns the process's peak resident set size.
func vmHWM(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

// pattern repeats 64 KiB of random bytes forever: a source as fast as memcpy
// that is not all zeroes and is never held in memory as a whole.
type pattern struct {
	block []byte
	off   int
}

func newPattern() *pattern {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return &pattern{block: b}
}

func (p *pattern) Read(dst []byte) (int, error) {
	n := 0
	for n < len(dst) {
		c := copy(dst[n:], p.block[p.off:])
		n += c
		p.off = (p.off + c) % len(p.block)
	}
	return n, nil
}
