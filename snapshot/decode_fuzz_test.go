package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// The seed corpora in testdata/fuzz come from the real encoders; run with
// ZUULSTATE_WRITE_FUZZ_SEEDS=1 to write them again after a format change.
const fuzzID = "20261125T211304Z-3fa1c2d9"

func writeSeed(t *testing.T, target, name string, args ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case uint32:
			fmt.Fprintf(&b, "uint32(%d)\n", v)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("ZUULSTATE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set ZUULSTATE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain, p1 := encodeBytes(t, []byte("hello, zuul\n"), EncodeOptions{})
	_, p2 := encodeBytes(t, testData(70_000), EncodeOptions{Recipients: []age.Recipient{id.Recipient()}})
	p1.Key, p1.Meta = PartKey(fuzzID, p1.Source, "certs", "zstd", false), []byte(`{"path":"/opt/zuul/certs"}`)
	p1.Name = "certs"
	p2.Source, p2.Name, p2.Key, p2.Recipients = "mariadb", "zuul.zuul_build", PartKey(fuzzID, "mariadb", "zuul.zuul_build", "zstd", true), []string{id.Recipient().String()}
	start := time.Date(2026, 11, 25, 21, 13, 4, 0, time.UTC)
	m := Manifest{Format: FormatVersion, ID: fuzzID, ToolVersion: "v0.1.0", Host: "zuul01", Start: start, End: start.Add(5 * time.Second), Tags: []string{"nightly"}, Parts: []Part{p1, p2}}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	writeSeed(t, "FuzzDecodeManifest", "two-parts", data)
	m.Parts = nil
	data, _ = m.Encode()
	writeSeed(t, "FuzzDecodeManifest", "no-parts", data)

	writeSeed(t, "FuzzPartDecoder", "hello", plain, uint32(p1.RawSize))
	empty, pe := encodeBytes(t, nil, EncodeOptions{})
	writeSeed(t, "FuzzPartDecoder", "empty", empty, uint32(pe.RawSize))
	bomb, _ := encodeBytes(t, make([]byte, 1<<20), EncodeOptions{})
	writeSeed(t, "FuzzPartDecoder", "bomb", bomb, uint32(100))
}

// FuzzDecodeManifest: any input either fails with ErrCorrupt (or asks for
// a newer zuulstate) or yields a manifest whose part keys all lie inside
// the snapshot's own part directory and survive a round trip.
func FuzzDecodeManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(t, 10*time.Second)()
		m, err := DecodeManifest(fuzzID, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), "upgrade zuulstate") {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		for _, p := range m.Parts {
			rest, ok := strings.CutPrefix(p.Key, PartDir(fuzzID))
			if !ok || strings.Contains(rest, "..") || strings.Contains(rest, "//") || strings.HasPrefix(rest, "/") {
				t.Fatalf("accepted part key %q outside the snapshot", p.Key)
			}
		}
		again, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeManifest(fuzzID, again); err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
	})
}

// FuzzPartDecoder feeds arbitrary stored bytes to the part decoder with a
// claimed raw size: it must never hand out more than that many bytes, and
// must never report success for bytes that do not match the manifest.
func FuzzPartDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, stored []byte, rawSize uint32) {
		sum := sha256.Sum256(stored)
		p := Part{Source: "paths", Name: "x", RawSize: int64(rawSize), RawSHA256: strings.Repeat("0", 64),
			StoredSize: int64(len(stored)), StoredSHA256: hex.EncodeToString(sum[:]), Compression: "zstd"}
		dec, err := NewDecoder(bytes.NewReader(stored), p, nil)
		if err != nil {
			return
		}
		defer dec.Close()
		n, err := io.Copy(io.Discard, dec)
		if n > p.RawSize {
			t.Fatalf("decoder handed out %d bytes, manifest says %d", n, p.RawSize)
		}
		if err == nil {
			err = dec.Finish()
		}
		// The raw checksum is all zeros: no input can match it.
		if err == nil || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("want an integrity error, got %v", err)
		}
	})
}

// watchdog turns a hang into a crash with every goroutine's stack (the
// fuzzer otherwise only shows 0 execs/sec).
func watchdog(t *testing.T, d time.Duration) (stop func()) {
	tm := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("%s hangs:\n%s", t.Name(), buf[:runtime.Stack(buf, true)]))
	})
	return func() { tm.Stop() }
}

// countingReader counts what the decoder pulled from the store.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestDecoderStopsBomb: a part that decompresses to 1 GiB while its
// manifest says 1 MiB is stopped right after 1 MiB, having read only a
// small part of the stored object.
func TestDecoderStopsBomb(t *testing.T) {
	const claimed = 1 << 20
	var stored bytes.Buffer
	enc, err := NewEncoder(&stored, EncodeOptions{Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 4<<20)
	for range 256 {
		if _, err := enc.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	s := enc.Sums()
	p := Part{Source: "paths", Name: "bomb", RawSize: claimed, RawSHA256: s.RawSHA256,
		StoredSize: s.StoredSize, StoredSHA256: s.StoredSHA256, Compression: "zstd"}
	src := &countingReader{r: bytes.NewReader(stored.Bytes())}
	dec, err := NewDecoder(src, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	n, err := io.Copy(io.Discard, dec)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "longer than the manifest") {
		t.Fatalf("bomb: got %v after %d bytes, want an integrity error", err, n)
	}
	if n > claimed || dec.raw.n > claimed+1 {
		t.Fatalf("bomb: handed out %d bytes and decoded %d, manifest says %d", n, dec.raw.n, claimed)
	}
	t.Logf("bomb of %d raw bytes (%d stored) stopped after %d raw bytes, %d stored bytes read", s.RawSize, s.StoredSize, dec.raw.n, src.n)
	if err := dec.Finish(); err == nil {
		t.Fatal("Finish reports an intact part")
	}
}
