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
// pythonValue is that parse: objects keep their key order, a repeated key keeps
// its first place and its last value, integers keep every digit.
type pythonValue struct {
	kind pythonKind
	text string // string, number or literal as written
	keys []string
	vals []pythonValue
}

// pythonKind is what a pythonValue holds.
type pythonKind uint8

const (
	pythonObject pythonKind = iota + 1
	pythonArray
	pythonString
	pythonNumber
	pythonLiteral // true, false, null
)

// pythonReencode parses data as Python's json.loads would and renders it as
// json.dumps would.
func pythonReencode(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := pythonParse(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("extra data after the JSON value")
	}
	var b bytes.Buffer
	if err := pythonWrite(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func pythonParse(dec *json.Decoder) (pythonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return pythonValue{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := pythonValue{kind: pythonArray}
		switch t {
		case '{':
			v.kind = pythonObject
		case '}', ']':
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
			item, err := pythonParse(dec)
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
		return pythonValue{kind: pythonString, text: t}, nil
	case json.Number:
		return pythonValue{kind: pythonNumber, text: string(t)}, nil
	case bool:
		return pythonValue{kind: pythonLiteral, text: strconv.FormatBool(t)}, nil
	case nil:
		return pythonValue{kind: pythonLiteral, text: "null"}, nil
	}
	return pythonValue{}, fmt.Errorf("unexpected token %v", tok)
}

func pythonWrite(b *bytes.Buffer, v pythonValue) error {
	switch v.kind {
	case pythonObject, pythonArray:
		open, end := byte('['), byte(']')
		if v.kind == pythonObject {
			open, end = '{', '}'
		}
		b.WriteByte(open)
		for i, item := range v.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			if v.kind == pythonObject {
				b.WriteString(pythonQuote(v.keys[i]))
				b.WriteString(": ")
			}
			if err := pythonWrite(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(end)
	case pythonString:
		b.WriteString(pythonQuote(v.text))
	case pythonNumber:
		b.WriteString(pythonNumberText(v.text))
	default:
		b.WriteString(v.text)
	}
	return nil
}

// pythonQuote is json.dumps of a str with ensure_ascii.
func pythonQuote(s string) string {
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

// pythonNumberText renders a JSON number as Python does after parsing it: an int
// (no fraction or exponent) as its decimal value, a float as repr().
func pythonNumberText(s string) string {
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
	return pythonFloatRepr(f)
}

// pythonFloatRepr is Python's repr(float): the shortest digits that read back,
// positional when the decimal point falls within -4 < point <= 16,
// otherwise with an exponent of at least two digits.
func pythonFloatRepr(f float64) string {
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
