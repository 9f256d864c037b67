package sqlstream

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

// unescape is the server's reading of a single-quoted literal under
// SET NAMES binary without NO_BACKSLASH_ESCAPES.
func unescape(t *testing.T, lit []byte) []byte {
	t.Helper()
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		t.Fatalf("not a literal: %q", lit)
	}
	var out []byte
	in := lit[1 : len(lit)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch c {
		case '\'':
			t.Fatalf("unescaped quote at %d in %q", i, lit)
		case '\n', '\r':
			t.Fatalf("raw line break at %d in %q", i, lit)
		case '\\':
			i++
			m := map[byte]byte{'0': 0, 'n': '\n', 'r': '\r', 'Z': 0x1a, '\\': '\\', '\'': '\''}
			r, ok := m[in[i]]
			if !ok {
				t.Fatalf("unexpected escape \\%c", in[i])
			}
			out = append(out, r)
		default:
			out = append(out, c)
		}
	}
	return out
}

func TestAppendStringRoundTrip(t *testing.T) {
	all := make([]byte, 0, 512)
	for i := 0; i < 256; i++ {
		all = append(all, byte(i))
	}
	all = append(all, all...)
	cases := [][]byte{nil, {}, {0}, []byte(`'`), []byte(`\`), []byte(`\'`), []byte("a\nb\r\n"), []byte("''\\\\"), []byte("😀\x1a"), all}
	for i := 0; i < 256; i++ {
		cases = append(cases, []byte{byte(i)}, []byte{'x', byte(i), 'y'})
	}
	for _, c := range cases {
		lit := AppendString([]byte("pre"), c)
		if !bytes.HasPrefix(lit, []byte("pre")) {
			t.Fatal("prefix lost")
		}
		if got := unescape(t, lit[3:]); !bytes.Equal(got, c) {
			t.Errorf("round trip %q -> %q -> %q", c, lit, got)
		}
	}
	if got := string(AppendString(nil, []byte("a'b\\c\x00\n\r\x1a"))); got != `'a\'b\\c\0\n\r\Z'` {
		t.Errorf("got %s", got)
	}
}

// TestAppendStringEveryPosition puts each byte at each offset of strings
// as long as three words, where AppendString switches between its
// word-at-a-time scan and its byte loop, and compares with escaping byte
// by byte.
func TestAppendStringEveryPosition(t *testing.T) {
	want := func(raw []byte) []byte {
		out := []byte{'\''}
		for _, c := range raw {
			if e := map[byte]byte{'\\': '\\', '\'': '\'', 0: '0', '\n': 'n', '\r': 'r', 0x1a: 'Z'}[c]; e != 0 {
				out = append(out, '\\', e)
			} else {
				out = append(out, c)
			}
		}
		return append(out, '\'')
	}
	for n := 1; n <= 24; n++ {
		for pos := range n {
			for c := range 256 {
				raw := bytes.Repeat([]byte{'a'}, n)
				raw[pos] = byte(c)
				if c%7 == 0 {
					raw[n-1-pos] = 0xff - byte(c) // a second byte, above or below
				}
				if got := AppendString(nil, raw); !bytes.Equal(got, want(raw)) {
					t.Fatalf("%q: got %q, want %q", raw, got, want(raw))
				}
			}
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"a": "`a`", "a`b": "`a``b`", "": "``", "``": "``````"} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s", in, got)
		}
		if got := string(AppendIdent(nil, in)); got != want {
			t.Errorf("AppendIdent(%q) = %s", in, got)
		}
	}
}

func TestLiterals(t *testing.T) {
	checks := map[string]string{
		string(AppendFloat32(nil, 16777216)):                      "1.6777216e+07",
		string(AppendFloat32(nil, math.MaxFloat32)):               "3.4028235e+38",
		string(AppendFloat32(nil, math.SmallestNonzeroFloat32)):   "1e-45",
		string(AppendFloat32(nil, float32(math.Copysign(0, -1)))): "-0e0",
		string(AppendFloat64(nil, math.Copysign(0, -1))):          "-0e0",
		string(AppendFloat64(nil, 0.1)):                           "0.1",
		string(AppendHex(nil, nil)):                               "''",
		string(AppendHex(nil, []byte{0, 0xff, 0x10})):             "0x00ff10",
		string(AppendBits(nil, []byte{0x05, 0x80})):               "b'0000010110000000'",
		string(AppendBits(nil, nil)):                              "b'0'",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestWriterReader(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, "zuulstate test\nsecond")
	long := "INSERT INTO t VALUES (" + strings.Repeat("'x',", 200000) + "'y')"
	proc := "CREATE PROCEDURE p()\nBEGIN\n-- a comment inside\n  SELECT 1;\n  SELECT ';;x';\nEND"
	stmts := []string{"SET NAMES binary", long, proc, "USE `a`"}
	for i, s := range stmts {
		var err error
		if i == 1 {
			err = w.StatementBytes([]byte(s))
		} else {
			err = w.Statement(s)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "-- zuulstate test second\nDELIMITER ;;\nSET NAMES binary;;\n") ||
		!strings.HasSuffix(buf.String(), "USE `a`;;\nDELIMITER ;\n") {
		t.Fatalf("framing: %.80q … %q", buf.String(), buf.String()[buf.Len()-30:])
	}
	if err := w.Statement("x"); err == nil {
		t.Error("write after close succeeded")
	}
	for _, src := range map[string]io.Reader{
		"plain": bytes.NewReader(buf.Bytes()),
		"byte":  iotest.OneByteReader(bytes.NewReader(buf.Bytes())),
		"crlf":  strings.NewReader(strings.ReplaceAll(buf.String(), "\n", "\r\n")),
	} {
		r := NewReader(src)
		for i, want := range stmts {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("statement %d: %v", i, err)
			}
			got = strings.ReplaceAll(got, "\r\n", "\n")
			if got != want {
				t.Fatalf("statement %d: got %.60q, want %.60q", i, got, want)
			}
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("want EOF, got %v", err)
		}
	}
}

func TestReaderTruncated(t *testing.T) {
	for _, in := range []string{"DELIMITER ;;\nINSERT 1", "DELIMITER ;;\nCREATE\nBEGIN\n", "SELECT 1;;\nSELECT"} {
		r := NewReader(strings.NewReader(in))
		var err error
		for err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%q: got %v, want ErrTruncated", in, err)
		}
	}
	r := NewReader(strings.NewReader("-- only a header\nDELIMITER ;;\n\nDELIMITER ;\n"))
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("empty stream: got %v", err)
	}
	r = NewReader(strings.NewReader("SELECT 1;;"))
	if s, err := r.Next(); err != nil || s != "SELECT 1" {
		t.Errorf("no final newline: %q %v", s, err)
	}
}
