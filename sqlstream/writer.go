// Package sqlstream is the SQL text format of the mariadb source's parts,
// shared by the dump (backup/mariadb) and the loader (restore/mariadb).
//
// A stream is a "--" header line, "DELIMITER ;;", statements each ending in
// ";;" at the end of a line, and "DELIMITER ;". The stock mariadb client
// loads it unchanged. Data values never contain a raw newline (string
// literals escape it), so a data statement is one line; DDL bodies such as
// CREATE PROCEDURE may span lines. See docs/MARIADB.md.
package sqlstream

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/zuulstate/zuulstate/internal/unwrap"
)

// Terminator ends every statement in a stream.
const Terminator = ";;"

// UnitSink is a destination that cuts what it stores only where a unit
// ends (the deduplicating repository). NewWriter finds it on its writer or
// on the writers that Unwrap() io.Writer methods lead to, announces the
// stream with an EndUnit before any byte, and ends a unit after every
// statement. The dump ends INSERT statements where their rows' content
// says, so statement ends are content-defined chunk boundaries already.
type UnitSink interface {
	io.Writer
	EndUnit() error
}

// Writer writes a SQL stream. Errors are sticky: after the first write error
// every method returns it.
type Writer struct {
	out  io.Writer
	bw   *bufio.Writer
	sink UnitSink // nil unless the destination cuts at statement ends
	err  error
}

// NewWriter starts a stream on w with a "-- header" comment line (newlines
// in header are replaced by spaces) and "DELIMITER ;;".
func NewWriter(w io.Writer, header string) *Writer {
	sw := &Writer{out: w, bw: bufio.NewWriterSize(w, 256<<10)}
	if sink, ok := unwrap.Find[UnitSink](w); ok {
		sw.sink = sink
		sw.err = sink.EndUnit()
	}
	header = strings.NewReplacer("\r", " ", "\n", " ").Replace(header)
	sw.write("-- " + strings.TrimPrefix(strings.TrimPrefix(header, "--"), " ") + "\nDELIMITER ;;\n")
	return sw
}

// endUnit hands the statement just written to the sink and marks its end.
func (w *Writer) endUnit() {
	if w.sink == nil || w.err != nil {
		return
	}
	if w.err = w.bw.Flush(); w.err == nil {
		w.err = w.sink.EndUnit()
	}
}

func (w *Writer) write(s string) {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
}

// Statement writes stmt followed by ";;\n". stmt must not itself end with
// the terminator.
func (w *Writer) Statement(stmt string) error {
	w.write(stmt)
	w.write(Terminator + "\n")
	w.endUnit()
	return w.err
}

// StatementBytes is Statement for a byte slice (a data INSERT built in a
// reused buffer); stmt is not retained.
func (w *Writer) StatementBytes(stmt []byte) error {
	switch {
	case w.err != nil:
	case w.sink != nil && w.bw.Buffered() == 0:
		// A sink takes every statement as it ends, so the buffer would
		// only copy it on its way there.
		_, w.err = w.out.Write(stmt)
	default:
		_, w.err = w.bw.Write(stmt)
	}
	w.write(Terminator + "\n")
	w.endUnit()
	return w.err
}

// Err returns the first write error, if any.
func (w *Writer) Err() error { return w.err }

// Close writes "DELIMITER ;" and flushes. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	w.write("DELIMITER ;\n")
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err == nil {
		w.err = errClosed
		return nil
	}
	return w.err
}

var errClosed = errors.New("sqlstream: writer closed")
