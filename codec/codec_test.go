package codec

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestZstdBlockRoundTrip(t *testing.T) {
	c, err := Lookup(Default)
	if err != nil {
		t.Fatal(err)
	}
	src := bytes.Repeat([]byte("zuul build log line\n"), 5000)
	for _, level := range []int{0, 1, 3, 9} {
		enc, err := c.EncodeBlock([]byte("prefix"), src, level)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, []byte("prefix")) || len(enc) >= len(src) {
			t.Fatalf("level %d: EncodeBlock did not append a compressed block (%d bytes)", level, len(enc))
		}
		dec, err := c.DecodeBlock(nil, enc[len("prefix"):], len(src))
		if err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("level %d: round trip differs: %v", level, err)
		}
		if _, err := c.DecodeBlock(nil, enc[len("prefix"):], len(src)-1); err == nil {
			t.Errorf("level %d: a block larger than maxSize was accepted", level)
		}
	}
	rc, err := c.NewStreamReader(bytes.NewReader(append(mustEncode(t, c, "a"), mustEncode(t, c, "bc")...)))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || string(got) != "abc" {
		t.Errorf("stream of two frames = %q, %v", got, err)
	}
}

func mustEncode(t *testing.T, c Codec, s string) []byte {
	b, err := c.EncodeBlock(nil, []byte(s), 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("lz5")
	if err == nil || !strings.Contains(err.Error(), `"lz5"`) || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("Lookup(lz5) = %v, want an error naming it and the known codecs", err)
	}
	if c, _ := Lookup("zstd"); c.Ext() != ".zst" {
		t.Errorf("zstd ext = %q", c.Ext())
	}
}
