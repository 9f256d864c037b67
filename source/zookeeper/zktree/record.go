package zktree

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-zookeeper/zk"
)

// The tree part is a stream of records (docs/ZOOKEEPER.md): the magic line,
// then frames of one type byte, a uvarint body length and the body. A
// header (JSON) comes first, then one node record per znode in DFSLess
// order, then a trailer (JSON) that proves the stream is complete.
const (
	Magic        = "zuulstate-zookeeper-tree 1\n"
	recordHeader = 'H'
	recordNode   = 'N'
	recordEnd    = 'E'
	maxBody      = 64 << 20
)

// Kind is how a node is created on restore.
type Kind uint8

// Node kinds. The server reports containers and TTL nodes like persistent
// ones, so only nodes the configuration declares get another kind.
const (
	KindPersistent Kind = iota
	KindContainer
	KindTTL
)

// Record is one node of the tree part.
type Record struct {
	Path string
	Data []byte // nil: null data
	ACL  []zk.ACL
	Kind Kind
	TTL  time.Duration // KindTTL only
	Stat zk.Stat       // as read; informational (cannot be restored)
	// Seq is the parent side of sequential nodes: how many children were
	// ever created under this node, which is the number the server gives
	// the next sequential child: (cversion + numChildren) / 2.
	Seq int64
}

// SeqOf computes Record.Seq from a stat.
func SeqOf(st zk.Stat) int64 { return (int64(st.Cversion) + int64(st.NumChildren)) / 2 }

// Header is the first record.
type Header struct {
	Format        int       `json:"format"`
	Created       time.Time `json:"created"`
	Servers       []string  `json:"servers"`
	Chroot        string    `json:"chroot,omitempty"`
	ServerVersion string    `json:"server_version,omitempty"`
	Profile       string    `json:"profile"`
	Roots         []string  `json:"roots"`
	Exclude       []string  `json:"exclude,omitempty"`
}

// Trailer is the last record.
type Trailer struct {
	Nodes int64      `json:"nodes"`
	Roots []RootMeta `json:"roots"`
}

// AppendIdentity appends what a node is, for digests: path, data (null
// kept apart from empty) and ACL. It is also the start of a node record.
func AppendIdentity(b []byte, path string, data []byte, acl []zk.ACL) []byte {
	b = appendString(b, path)
	if data == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, string(data))
	}
	b = binary.AppendUvarint(b, uint64(len(acl)))
	for _, a := range acl {
		b = binary.AppendUvarint(b, uint64(uint32(a.Perms)))
		b = appendString(b, a.Scheme)
		b = appendString(b, a.ID)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Encoder writes a tree part.
type Encoder struct {
	w   *bufio.Writer
	buf []byte
}

// NewEncoder writes the magic line and header to w.
func NewEncoder(w io.Writer, h Header) (*Encoder, error) {
	e := &Encoder{w: bufio.NewWriterSize(w, 256<<10)}
	if _, err := e.w.WriteString(Magic); err != nil {
		return nil, err
	}
	return e, e.json(recordHeader, h)
}

// Node writes one node record and returns its identity bytes (valid until
// the next call) for the digest.
func (e *Encoder) Node(r *Record) ([]byte, error) {
	b := AppendIdentity(e.buf[:0], r.Path, r.Data, r.ACL)
	id := len(b)
	b = append(b, byte(r.Kind))
	if r.Kind == KindTTL {
		b = binary.AppendUvarint(b, uint64(r.TTL.Milliseconds()))
	}
	s := &r.Stat
	for _, v := range []int64{s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime,
		int64(s.Version), int64(s.Cversion), int64(s.Aversion), int64(s.DataLength), int64(s.NumChildren), r.Seq} {
		b = binary.AppendVarint(b, v)
	}
	e.buf = b
	return b[:id], e.frame(recordNode, b)
}

// Close writes the trailer and flushes.
func (e *Encoder) Close(t Trailer) error {
	if err := e.json(recordEnd, t); err != nil {
		return err
	}
	return e.w.Flush()
}

func (e *Encoder) json(typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.frame(typ, b)
}

func (e *Encoder) frame(typ byte, body []byte) error {
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = typ
	n := binary.PutUvarint(hdr[1:], uint64(len(body)))
	if _, err := e.w.Write(hdr[:1+n]); err != nil {
		return err
	}
	_, err := e.w.Write(body)
	return err
}

// ErrFormat marks a tree part that does not decode.
var ErrFormat = errors.New("not a valid zookeeper tree part")

// Decoder reads a tree part.
type Decoder struct {
	r       *bufio.Reader
	buf     []byte
	Header  Header
	Trailer *Trailer // set when Next returns io.EOF
}

// NewDecoder reads the magic line and the header.
func NewDecoder(r io.Reader) (*Decoder, error) {
	src := &sourceReader{r: r}
	d := &Decoder{r: bufio.NewReaderSize(src, 256<<10)}
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(d.r, magic); src.err != nil {
		return nil, fmt.Errorf("read tree part: %w", src.err)
	} else if err != nil || string(magic) != Magic {
		return nil, fmt.Errorf("%w: bad magic (a newer zuulstate may have written it)", ErrFormat)
	}
	typ, body, err := d.frame()
	if src.err != nil {
		return nil, fmt.Errorf("read tree part: %w", src.err)
	} else if err != nil || typ != recordHeader {
		return nil, fmt.Errorf("%w: no header", ErrFormat)
	}
	if err := json.Unmarshal(body, &d.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	if d.Header.Format != 1 {
		return nil, fmt.Errorf("%w: format %d; this zuulstate reads format 1", ErrFormat, d.Header.Format)
	}
	return d, nil
}

// sourceReader remembers a failure of the stream below (an integrity
// verdict of the part reader, an I/O error), so that it is reported as
// such and not as a part that does not decode.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// Next returns the next node record, or io.EOF after the trailer. A stream
// that ends without a trailer is an error.
func (d *Decoder) Next() (*Record, error) {
	typ, body, err := d.frame()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %w (truncated?)", ErrFormat, err)
	}
	switch typ {
	case recordEnd:
		var t Trailer
		if err := json.Unmarshal(body, &t); err != nil {
			return nil, fmt.Errorf("%w: trailer: %w", ErrFormat, err)
		}
		d.Trailer = &t
		return nil, io.EOF
	case recordNode:
		r, err := parseNode(body)
		if err != nil {
			return nil, fmt.Errorf("%w: node record: %w", ErrFormat, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: unknown record type %q", ErrFormat, typ)
}

func (d *Decoder) frame() (byte, []byte, error) {
	typ, err := d.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, nil, err
	}
	if n > maxBody {
		return 0, nil, fmt.Errorf("record of %d bytes", n)
	}
	if cap(d.buf) >= int(n) || n <= 1<<20 {
		if cap(d.buf) < int(n) {
			d.buf = make([]byte, n)
		}
		d.buf = d.buf[:n]
		_, err = io.ReadFull(d.r, d.buf)
		return typ, d.buf, err
	}
	// A large length is believed only as far as bytes arrive, so a damaged
	// length field cannot make us allocate 64 MiB for a short stream.
	b := bytes.NewBuffer(d.buf[:0])
	m, err := io.CopyN(b, d.r, int64(n)) //nolint:gosec // n <= maxBody
	if err == nil && m != int64(n) {     //nolint:gosec // n <= maxBody
		err = io.ErrUnexpectedEOF
	}
	d.buf = b.Bytes()
	return typ, d.buf, err
}
