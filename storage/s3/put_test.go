package s3

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// TestReadHead covers the boundaries that decide between a single PUT and a
// multipart upload, with a reader that returns one byte at a time.
func TestReadHead(t *testing.T) {
	const limit = 5 << 20
	for _, n := range []int{0, 1, 64 << 10, 64<<10 + 1, 1 << 20, 3 << 20, limit - 1, limit, limit + 1} {
		data := bytes.Repeat([]byte{'x'}, n)
		head, complete, err := readHead(iotest.HalfReader(bytes.NewReader(data)), limit)
		wantComplete := n < limit
		if err != nil || complete != wantComplete || len(head) != min(n, limit) {
			t.Errorf("n=%d: len %d complete %v err %v; want len %d complete %v", n, len(head), complete, err, min(n, limit), wantComplete)
		}
	}
	if _, _, err := readHead(iotest.ErrReader(io.ErrClosedPipe), limit); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("reader error: got %v", err)
	}
}

// TestPartSchedule checks that parts start at PartSize, never shrink, stay
// within S3's part limits, and that 10,000 of them hold S3's largest object
// (5 TiB) from every allowed part size.
func TestPartSchedule(t *testing.T) {
	for _, base := range []int64{minPartSize, defaultPartSize, 16 << 20, 100 << 20, maxPartSize} {
		var sum int64
		prev := partSize(base, 1)
		if prev != base {
			t.Errorf("base %d: first part %d", base, prev)
		}
		for n := 1; n <= maxParts; n++ {
			p := partSize(base, n)
			if p < prev || p < minPartSize || p > maxPartSize {
				t.Fatalf("base %d: part %d is %d bytes after %d", base, n, p, prev)
			}
			sum, prev = sum+p, p
		}
		if sum < 5<<40 {
			t.Errorf("base %d: 10,000 parts hold %d bytes, below 5 TiB", base, sum)
		}
	}
	// The growth documented at growEvery: default parts up to 7 GiB.
	if partSize(defaultPartSize, growEvery) != defaultPartSize || partSize(defaultPartSize, growEvery+1) != 2*defaultPartSize {
		t.Errorf("default part size does not first double after part %d", growEvery)
	}
}

// TestFeed drives feed without a server, from 1-byte base parts so that the
// whole 10,000-part schedule is only 2 MB: parts arrive numbered in order,
// sized by the schedule and carrying the stream; per part size at most
// Parallel+1 distinct buffers are used (recycled, not one per part); and a
// stream longer than 10,000 parts fails.
func TestFeed(t *testing.T) {
	s := &Store{partSize: 1, parallel: 2}
	var capacity int64
	for n := 1; n <= maxParts; n++ {
		capacity += partSize(1, n)
	}
	for _, size := range []int64{2, 5, 900, capacity - 1, capacity, capacity + 1} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rand.Uint32())
		}
		r := bytes.NewReader(data)
		first, second := make([]byte, 1), make([]byte, partSize(1, 2))
		fill(t.Context(), r, first)
		n, _ := fill(t.Context(), r, second)

		jobs, free := make(chan part), make(chan []byte, s.parallel+1)
		var mu sync.Mutex
		var got []part
		buffers := map[int64]map[*byte]bool{} // by part size
		var wg sync.WaitGroup
		for range s.parallel {
			wg.Go(func() {
				for p := range jobs {
					mu.Lock()
					got = append(got, part{p.num, slices.Clone(p.data)})
					ps := partSize(1, p.num)
					if buffers[ps] == nil {
						buffers[ps] = map[*byte]bool{}
					}
					buffers[ps][&p.data[0]] = true
					mu.Unlock()
					free <- p.data
				}
			})
		}
		err := s.feed(t.Context(), jobs, free, first, second[:n], r)
		close(jobs)
		wg.Wait()

		slices.SortFunc(got, func(a, b part) int { return a.num - b.num })
		var joined []byte
		for i, p := range got {
			if p.num != i+1 || (i < len(got)-1 && int64(len(p.data)) != partSize(1, p.num)) {
				t.Fatalf("size %d: part %d of %d is number %d with %d bytes", size, i+1, len(got), p.num, len(p.data))
			}
			joined = append(joined, p.data...)
		}
		for ps, bufs := range buffers {
			if len(bufs) > s.parallel+1 {
				t.Errorf("size %d: %d buffers used for %d-byte parts, want at most %d", size, len(bufs), ps, s.parallel+1)
			}
		}
		if size > capacity {
			if err == nil || !strings.Contains(err.Error(), "S3 allows no more parts") || len(got) != maxParts {
				t.Errorf("size %d (> %d parts hold): %v after %d parts", size, capacity, err, len(got))
			}
			continue
		}
		if err != nil || !bytes.Equal(joined, data) {
			t.Errorf("size %d: %v; parts hold %d bytes, equal to the stream: %v", size, err, len(joined), bytes.Equal(joined, data))
		}
	}
}
