package zktree

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/go-zookeeper/zk"
)

var errShort = errors.New("record ends early")

// byteReader reads the fields of one record body; the first error sticks.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShort
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns a copy: records outlive the decoder's buffer.
func (r *byteReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errShort
		return nil
	}
	out := make([]byte, n)
	copy(out, r.b[:n])
	r.b = r.b[n:]
	return out
}

func (r *byteReader) string() string { return string(r.bytes()) }

func parseNode(body []byte) (*Record, error) {
	r := &byteReader{b: body}
	rec := &Record{Path: r.string()}
	switch r.byte() {
	case 0:
	case 1:
		rec.Data = r.bytes()
	default:
		return nil, errors.New("bad data flag")
	}
	n := r.uvarint()
	// Each ACL entry takes at least 3 bytes (perms and two lengths): a
	// count the body cannot hold is damage, not a reason to allocate.
	if n > uint64(len(r.b))/3 {
		return nil, errShort
	}
	rec.ACL = make([]zk.ACL, 0, n)
	for range n {
		rec.ACL = append(rec.ACL, zk.ACL{Perms: int32(r.uvarint()), Scheme: r.string(), ID: r.string()}) //nolint:gosec // perms are 5 bits
	}
	rec.Kind = Kind(r.byte())
	switch rec.Kind {
	case KindPersistent, KindContainer:
	case KindTTL:
		rec.TTL = time.Duration(r.uvarint()) * time.Millisecond //nolint:gosec // milliseconds of a TTL
	default:
		return nil, errors.New("unknown node kind")
	}
	s := &rec.Stat
	s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime = r.varint(), r.varint(), r.varint(), r.varint(), r.varint()
	s.Version, s.Cversion, s.Aversion = int32(r.varint()), int32(r.varint()), int32(r.varint()) //nolint:gosec // written from int32
	s.DataLength, s.NumChildren = int32(r.varint()), int32(r.varint())                          //nolint:gosec // written from int32
	rec.Seq = r.varint()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("trailing bytes in node record")
	}
	return rec, nil
}
