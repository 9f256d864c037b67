package mariadb

import (
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/zuulstate/zuulstate/sqlstream"
)

type kind int

const (
	kindString  kind = iota // quoted raw bytes (text, blob, json, enum, set, dates, …)
	kindNumber              // integers and DECIMAL: raw decimal text
	kindFloat32             // FLOAT through the binary protocol
	kindFloat64             // DOUBLE through the binary protocol
	kindBit                 // b'…'
	kindGeom                // ST_GeomFromWKB(0x…, srid)
	kindText                // _utf8mb4'…': types whose binary-string form differs from their text (INET6, UUID)
)

type column struct {
	name   string
	kind   kind
	period bool // system-versioning row start/end column
}

func newColumn(name, dataType string) column {
	c := column{name: name}
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "year":
		c.kind = kindNumber
	case "float":
		c.kind = kindFloat32
	case "double":
		c.kind = kindFloat64
	case "bit":
		c.kind = kindBit
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection":
		c.kind = kindGeom
	case "inet4", "inet6", "uuid":
		c.kind = kindText
	}
	return c
}

// rowValues holds one row: every value as its bytes (nil for NULL), but
// FLOAT and DOUBLE as the binary protocol's float32/float64.
type rowValues struct {
	cols  []column
	raw   [][]byte
	float []any
	// digits holds integers the driver parsed, written back as text.
	digits []byte
}

func newRowValues(cols []column) *rowValues {
	return &rowValues{cols: cols, raw: make([][]byte, len(cols)), float: make([]any, len(cols))}
}

// scanDest returns database/sql scan destinations into r.
func (r *rowValues) scanDest() []any {
	dest := make([]any, len(r.cols))
	for i, c := range r.cols {
		if c.kind == kindFloat32 || c.kind == kindFloat64 {
			dest[i] = &r.float[i]
		} else {
			dest[i] = (*sql.RawBytes)(&r.raw[i])
		}
	}
	return dest
}

// load takes a row of the text protocol from the driver: bytes, except
// integers, which the driver parses (and which are written back exactly).
func (r *rowValues) load(dv []driver.Value) error {
	r.digits = r.digits[:0]
	for i, v := range dv {
		start := len(r.digits)
		switch v := v.(type) {
		case nil:
			r.raw[i] = nil
			continue
		case []byte:
			if v == nil {
				v = []byte{}
			}
			r.raw[i] = v
			continue
		case int64:
			r.digits = strconv.AppendInt(r.digits, v, 10)
		case uint64:
			r.digits = strconv.AppendUint(r.digits, v, 10)
		default:
			return fmt.Errorf("column %s: the text protocol returned a %T", r.cols[i].name, v)
		}
		// A later append may move digits; this value keeps the old array.
		r.raw[i] = r.digits[start:len(r.digits):len(r.digits)]
	}
	return nil
}

func (r *rowValues) isNull(i int) bool {
	if r.cols[i].kind == kindFloat32 || r.cols[i].kind == kindFloat64 {
		return r.float[i] == nil
	}
	return r.raw[i] == nil
}

// appendValue appends column i's SQL literal.
func (r *rowValues) appendValue(dst []byte, i int) ([]byte, error) {
	if r.isNull(i) {
		return append(dst, "NULL"...), nil
	}
	b := r.raw[i]
	switch r.cols[i].kind {
	case kindNumber:
		return append(dst, b...), nil
	case kindFloat32, kindFloat64:
		switch v := r.float[i].(type) {
		case float32:
			return sqlstream.AppendFloat32(dst, v), nil
		case float64:
			if r.cols[i].kind == kindFloat32 {
				return sqlstream.AppendFloat32(dst, float32(v)), nil
			}
			return sqlstream.AppendFloat64(dst, v), nil
		default:
			return nil, fmt.Errorf("column %s: FLOAT/DOUBLE came back as %T, not through the binary protocol", r.cols[i].name, v)
		}
	case kindBit:
		return sqlstream.AppendBits(dst, b), nil
	case kindGeom:
		srid, wkb, err := splitGeom(b)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", r.cols[i].name, err)
		}
		dst = append(dst, "ST_GeomFromWKB("...)
		dst = sqlstream.AppendHex(dst, wkb)
		dst = append(dst, ',')
		dst = strconv.AppendUint(dst, uint64(srid), 10)
		return append(dst, ')'), nil
	case kindText:
		return sqlstream.AppendString(append(dst, "_utf8mb4"...), b), nil
	default:
		return sqlstream.AppendString(dst, b), nil
	}
}

// splitGeom splits MariaDB's internal geometry value: 4 bytes of SRID
// (little endian), then WKB.
func splitGeom(b []byte) (uint32, []byte, error) {
	if len(b) < 5 {
		return 0, nil, fmt.Errorf("geometry value of %d bytes is too short", len(b))
	}
	return binary.LittleEndian.Uint32(b), b[4:], nil
}

// payload is the raw bytes that a large value is rebuilt from, and the
// expression that turns the variable holding them into the value.
func (r *rowValues) payload(i int, variable string) ([]byte, string, bool) {
	switch r.cols[i].kind {
	case kindString:
		return r.raw[i], variable, true
	case kindGeom:
		srid, wkb, err := splitGeom(r.raw[i])
		if err != nil {
			return nil, "", false
		}
		return wkb, "ST_GeomFromWKB(" + variable + "," + strconv.FormatUint(uint64(srid), 10) + ")", true
	}
	return nil, "", false
}
