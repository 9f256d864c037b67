package dirtar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
)

// headerBlocks formats hdr exactly as archive/tar's Writer would write it
// (PAX extended header first when needed). The walker writes header, body
// and padding itself, so that it knows each record's bytes before writing
// them and a RecordSink can skip a record whole.
func headerBlocks(hdr *tar.Header) ([]byte, error) {
	var buf bytes.Buffer
	// WriteHeader writes the header blocks straight through; the writer
	// is dropped without the body (Flush would complain about it).
	if err := tar.NewWriter(&buf).WriteHeader(hdr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// body writes exactly the size announced for an entry's content to w and
// reports whether the content can be trusted as what the stamp describes
// (false when the file changed while it was read).
type body func(w io.Writer) (cacheable bool, err error)

// emit writes one archive record: head, bodySize bytes from write, and the
// padding to the next block. With a RecordSink it first asks whether the
// sink holds the record already; then nothing is read or written.
func (wk *walker) emit(path string, head []byte, bodySize int64, stamp FileStamp, write body) (reused bool, err error) {
	pad := (blockSize - bodySize%blockSize) % blockSize
	if wk.sink != nil {
		rec := Record{Path: path, Size: int64(len(head)) + bodySize + pad, HeaderSum: sha256.Sum256(head), Stamp: stamp}
		if reused, err := wk.sink.BeginRecord(rec); err != nil || reused {
			return reused, err
		}
	}
	if _, err := wk.w.Write(head); err != nil {
		return false, err
	}
	cacheable := true
	if write != nil {
		if cacheable, err = write(wk.w); err != nil {
			return false, err
		}
	}
	if err := wk.zeros(wk.w, pad); err != nil {
		return false, err
	}
	if wk.sink != nil {
		return false, wk.sink.EndRecord(cacheable)
	}
	return false, nil
}

// emitHeader writes a record without content (directory, link, device).
func (wk *walker) emitHeader(path string, hdr *tar.Header) error {
	head, err := headerBlocks(hdr)
	if err != nil {
		return err
	}
	_, err = wk.emit(path, head, 0, FileStamp{}, nil)
	return err
}

// endOfArchive is the two zero blocks that end every tar archive; without
// them the stream looks truncated to every reader.
func (wk *walker) endOfArchive() error { return wk.zeros(wk.w, 2*blockSize) }
