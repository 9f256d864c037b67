package sqlstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTruncated is returned when a stream ends inside a statement: the part
// was cut short.
var ErrTruncated = errors.New("sqlstream: stream ends inside a statement")

// Reader splits a SQL stream into statements. It holds at most one
// statement in memory.
type Reader struct {
	br   *bufio.Reader
	buf  []byte
	line int
}

// NewReader reads statements from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 256<<10)}
}

// Next returns the next statement without its ";;" terminator. DELIMITER
// lines, "--" comment lines and blank lines between statements are
// skipped. At the end of the stream it returns io.EOF; a stream that ends
// inside a statement returns ErrTruncated.
func (r *Reader) Next() (string, error) {
	b, err := r.NextBytes()
	return string(b), err
}

// NextBytes is Next without the copy: the returned slice is valid only
// until the next call.
func (r *Reader) NextBytes() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		start := len(r.buf)
		complete, err := r.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line := r.buf[start:]
		if len(line) == 0 {
			if start == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%w (line %d)", ErrTruncated, r.line)
		}
		r.line++
		if start == 0 && skippable(line) {
			r.buf = r.buf[:0]
			continue
		}
		body := bytes.TrimRight(line, "\r\n")
		if bytes.HasSuffix(body, []byte(Terminator)) {
			r.buf = r.buf[:start+len(body)-len(Terminator)]
			return r.buf, nil
		}
		if !complete {
			return nil, fmt.Errorf("%w (line %d)", ErrTruncated, r.line)
		}
	}
}

// readLine appends one line (with its newline) to r.buf. complete is false
// when the stream ended without a final newline.
func (r *Reader) readLine() (complete bool, err error) {
	for {
		frag, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, frag...)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return false, err
		}
	}
}

func skippable(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) == 0 || bytes.HasPrefix(t, []byte("--")) ||
		(len(t) >= 10 && bytes.EqualFold(t[:10], []byte("DELIMITER ")))
}
