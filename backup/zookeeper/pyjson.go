package zookeeper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The keys part must be byte for byte what zuul-admin export-keys writes:
// Python's json.dump with its defaults (", " and ": " separators,
// ensure_ascii, float repr) of the node data Python's json.loads parsed.
// pyValue is that parse: objects keep their key order, a repeated key keeps
// its first place and its last value, integers keep every digit.
type pyValue struct {
	kind byte // '{', '[', 's' string, 'n' number text, 'l' literal
	text string
	keys []string
	vals []pyValue
}

// pyReencode parses data as Python's json.loads would and renders it as
// json.dumps would.
func pyReencode(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := pyParse(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("extra data after the JSON value")
	}
	var b bytes.Buffer
	if err := pyWrite(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func pyParse(dec *json.Decoder) (pyValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return pyValue{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := pyValue{kind: byte(t)}
		if t == '}' || t == ']' {
			return v, errors.New("unexpected " + t.String())
		}
		index := map[string]int{}
		for dec.More() {
			var key string
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return v, err
				}
				key = kt.(string)
			}
			item, err := pyParse(dec)
			if err != nil {
				return v, err
			}
			if i, dup := index[key]; dup && t == '{' {
				v.vals[i] = item
				continue
			}
			index[key] = len(v.vals)
			v.keys = append(v.keys, key)
			v.vals = append(v.vals, item)
		}
		_, err := dec.Token() // closing delimiter
		return v, err
	case string:
		return pyValue{kind: 's', text: t}, nil
	case json.Number:
		return pyValue{kind: 'n', text: string(t)}, nil
	case bool:
		return pyValue{kind: 'l', text: strconv.FormatBool(t)}, nil
	case nil:
		return pyValue{kind: 'l', text: "null"}, nil
	}
	return pyValue{}, fmt.Errorf("unexpected token %v", tok)
}

func pyWrite(b *bytes.Buffer, v pyValue) error {
	switch v.kind {
	case '{', '[':
		b.WriteByte(v.kind)
		for i, item := range v.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			if v.kind == '{' {
				b.WriteString(pyQuote(v.keys[i]))
				b.WriteString(": ")
			}
			if err := pyWrite(b, item); err != nil {
				return err
			}
		}
		if v.kind == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	case 's':
		b.WriteString(pyQuote(v.text))
	case 'n':
		b.WriteString(pyNumber(v.text))
	default:
		b.WriteString(v.text)
	}
	return nil
}

// pyQuote is json.dumps of a str with ensure_ascii.
func pyQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pyNumber renders a JSON number as Python does after parsing it: an int
// (no fraction or exponent) as its decimal value, a float as repr().
func pyNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		n, ok := new(big.Int).SetString(s, 10)
		if ok {
			return n.String()
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case err != nil:
		return s
	}
	return pyFloatRepr(f)
}

// pyFloatRepr is Python's repr(float): the shortest digits that read back,
// positional when the decimal point falls within -4 < point <= 16,
// otherwise with an exponent of at least two digits.
func pyFloatRepr(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if strings.HasPrefix(e, "-") {
		sign, e = "-", e[1:]
	}
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	point := x + 1 // digits before the decimal point
	if point <= -4 || point > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if x < 0 {
			es, x = "-", -x
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
	}
	switch {
	case point <= 0:
		return sign + "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return sign + digits + strings.Repeat("0", point-len(digits)) + ".0"
	}
	return sign + digits[:point] + "." + digits[point:]
}
