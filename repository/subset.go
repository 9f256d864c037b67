package repository

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// DataSubset picks the packs (and format 2 part objects) whose data
// `verify --read-data-subset` reads, as restic does: "n/m" is the n-th of
// m groups, the same group on every run, so m runs with 1/m to m/m read
// everything once; "p%" is about p percent picked at random, different
// each run. Safe for concurrent use; it counts what it was asked about.
type DataSubset struct {
	text    string
	n, m    uint64
	percent float64
	seed    [16]byte

	mu       sync.Mutex
	seen     map[string]bool // key → picked
	selected int
}

// ParseDataSubset reads "n/m" (1 ≤ n ≤ m) or "p%" (0 < p ≤ 100).
func ParseDataSubset(s string) (*DataSubset, error) {
	d := &DataSubset{text: s, seen: map[string]bool{}}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 100) || math.IsNaN(v) {
			return nil, fmt.Errorf("--read-data-subset %q: want a percentage above 0 and at most 100, like 10%%", s)
		}
		d.percent = v
		_, _ = rand.Read(d.seed[:])
		return d, nil
	}
	ns, ms, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseUint(ns, 10, 32)
	m, err2 := strconv.ParseUint(ms, 10, 32)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > m {
		return nil, fmt.Errorf("--read-data-subset %q: want n/m with 1 ≤ n ≤ m (like 1/5), or a percentage (like 10%%)", s)
	}
	d.n, d.m = n, m
	return d, nil
}

// Contains reports whether the object key is in the subset.
func (d *DataSubset) Contains(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if picked, ok := d.seen[key]; ok {
		return picked
	}
	var picked bool
	if d.m > 0 {
		sum := sha256.Sum256([]byte(key))
		picked = binary.BigEndian.Uint64(sum[:8])%d.m == d.n-1
	} else {
		sum := sha256.Sum256(append(d.seed[:], key...))
		picked = float64(binary.BigEndian.Uint64(sum[:8])) < d.percent/100*math.Pow(2, 64)
	}
	d.seen[key] = picked
	if picked {
		d.selected++
	}
	return picked
}

// Counts returns how many objects were picked and how many were asked
// about.
func (d *DataSubset) Counts() (picked, asked int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.selected, len(d.seen)
}

func (d *DataSubset) String() string { return d.text }
