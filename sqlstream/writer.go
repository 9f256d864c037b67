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
)

// Terminator ends every statement in a stream.
const Terminator = ";;"

// Writer writes a SQL stream. Errors are sticky: after the first write error
// every method returns it.
type Writer struct {
	bw  *bufio.Writer
	err error
}

// NewWriter starts a stream on w with a "-- header" comment line (newlines
// in header are replaced by spaces) and "DELIMITER ;;".
func NewWriter(w io.Writer, header string) *Writer {
	sw := &Writer{bw: bufio.NewWriterSize(w, 256<<10)}
	header = strings.NewReplacer("\r", " ", "\n", " ").Replace(header)
	sw.write("-- " + strings.TrimPrefix(strings.TrimPrefix(header, "--"), " ") + "\nDELIMITER ;;\n")
	return sw
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
	return w.err
}

// StatementBytes is Statement for a byte slice (a data INSERT built in a
// reused buffer); stmt is not retained.
func (w *Writer) StatementBytes(stmt []byte) error {
	if w.err == nil {
		_, w.err = w.bw.Write(stmt)
	}
	w.write(Terminator + "\n")
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
