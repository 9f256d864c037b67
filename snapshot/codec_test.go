package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"filippo.io/age"
)

func encodeBytes(t *testing.T, raw []byte, opts EncodeOptions) ([]byte, Part) {
	t.Helper()
	var stored bytes.Buffer
	enc, err := NewEncoder(&stored, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	s := enc.Sums()
	p := Part{Source: "paths", Name: "x", RawSize: s.RawSize, RawSHA256: s.RawSHA256,
		StoredSize: s.StoredSize, StoredSHA256: s.StoredSHA256, Compression: "zstd"}
	if len(opts.Recipients) > 0 {
		p.Encryption = EncryptionAge
	}
	return stored.Bytes(), p
}

func decodeAll(stored []byte, p Part, ids []age.Identity) ([]byte, error) {
	dec, err := NewDecoder(bytes.NewReader(stored), p, ids)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := io.ReadAll(dec)
	if err != nil {
		return out, err
	}
	return out, dec.Finish()
}

func testData(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		if i%3 == 0 {
			b[i] = byte(r.Uint32())
		} else {
			b[i] = 'a' + byte(i%7)
		}
	}
	return b
}

func TestCodecRoundTrip(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, 100_000, 3 << 20} {
		for _, encrypted := range []bool{false, true} {
			raw := testData(size)
			opts := EncodeOptions{}
			var ids []age.Identity
			if encrypted {
				opts.Recipients = []age.Recipient{id.Recipient()}
				ids = []age.Identity{id}
			}
			stored, p := encodeBytes(t, raw, opts)
			got, err := decodeAll(stored, p, ids)
			if err != nil {
				t.Fatalf("size %d encrypted %v: %v", size, encrypted, err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("size %d encrypted %v: round trip differs", size, encrypted)
			}
		}
	}
}

func TestCodecDetectsFlippedByte(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	for _, encrypted := range []bool{false, true} {
		opts := EncodeOptions{}
		var ids []age.Identity
		if encrypted {
			opts.Recipients = []age.Recipient{id.Recipient()}
			ids = []age.Identity{id}
		}
		stored, p := encodeBytes(t, testData(1<<20), opts)
		for _, pos := range []int{len(stored) / 2, len(stored) - 1} {
			bad := bytes.Clone(stored)
			bad[pos] ^= 0x40
			if _, err := decodeAll(bad, p, ids); !errors.Is(err, ErrCorrupt) {
				t.Errorf("encrypted %v, byte %d flipped: got %v, want ErrCorrupt", encrypted, pos, err)
			}
		}
		// Appended and truncated bytes are caught too.
		if _, err := decodeAll(append(bytes.Clone(stored), 0), p, ids); !errors.Is(err, ErrCorrupt) {
			t.Errorf("encrypted %v, trailing byte: got %v", encrypted, err)
		}
		if _, err := decodeAll(stored[:len(stored)-10], p, ids); !errors.Is(err, ErrCorrupt) {
			t.Errorf("encrypted %v, truncated: got %v", encrypted, err)
		}
	}
}

func TestCodecWrongIdentity(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	stored, p := encodeBytes(t, testData(1000), EncodeOptions{Recipients: []age.Recipient{id.Recipient()}})
	if _, err := decodeAll(stored, p, []age.Identity{other}); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("wrong identity: got %v, want ErrNoIdentity", err)
	}
	if _, err := decodeAll(stored, p, nil); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("no identity: got %v, want ErrNoIdentity", err)
	}
}

func TestManifestValidation(t *testing.T) {
	id := NewID(time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC))
	good := Manifest{Format: FormatVersion, ID: id, Start: time.Now(), End: time.Now().Add(time.Second), Parts: []Part{{
		Source: "paths", Name: "etc", Key: PartKey(id, "paths", "etc", "zstd", false),
		RawSHA256: string(bytes.Repeat([]byte("a"), 64)), StoredSHA256: string(bytes.Repeat([]byte("b"), 64)), Compression: "zstd",
	}}}
	data, _ := good.Encode()
	if _, err := DecodeManifest(id, data); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	cases := map[string][]byte{
		"truncated":  data[:len(data)/2],
		"not json":   []byte("hello"),
		"wrong id":   bytes.Replace(data, []byte(id), []byte(NewID(time.Now())), 1),
		"bad sha":    bytes.Replace(data, []byte("aaaa"), []byte("zzzz"), 1),
		"unknown":    bytes.Replace(data, []byte(`"format"`), []byte(`"bogus": 1, "format"`), 1),
		"bad source": bytes.Replace(data, []byte(`"paths"`), []byte(`"../x"`), 1),
		// Still a valid manifest, but not the one that was written.
		"changed sha":  bytes.Replace(data, []byte("aaaa"), []byte("aaab"), 1),
		"changed size": bytes.Replace(data, []byte(`"raw_size": 0`), []byte(`"raw_size": 1`), 1),
		"bad checksum": bytes.Replace(data, []byte(`"checksum": "`), []byte(`"checksum": "x`), 1),
		"no checksum":  regexp.MustCompile(`,\s*"checksum": "[0-9a-f]+"`).ReplaceAll(data, nil),
	}
	for name, b := range cases {
		if _, err := DecodeManifest(id, b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
	// Version 1 had no checksum; such manifests are still read.
	v1 := regexp.MustCompile(`,\s*"checksum": "[0-9a-f]+"`).ReplaceAll(bytes.Replace(data, []byte(fmt.Sprintf(`"format": %d`, FormatVersion)), []byte(`"format": 1`), 1), nil)
	if _, err := DecodeManifest(id, v1); err != nil {
		t.Errorf("format 1 manifest without a checksum: %v", err)
	}
	newer := bytes.Replace(data, []byte(fmt.Sprintf(`"format": %d`, FormatVersion)), []byte(`"format": 99`), 1)
	if _, err := DecodeManifest(id, newer); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("newer format: got %v, want an upgrade error", err)
	}
}

func TestIDs(t *testing.T) {
	a := NewID(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b := NewID(time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC))
	if !ValidID(a) || a >= b {
		t.Fatalf("ids %s %s: not valid or not sorted", a, b)
	}
	if tm, err := IDTime(a); err != nil || !tm.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("IDTime: %v %v", tm, err)
	}
	if got, ok := IDFromPartKey(PartKey(a, "paths", "etc", "zstd", true)); !ok || got != a {
		t.Fatalf("IDFromPartKey: %q %v", got, ok)
	}
}
