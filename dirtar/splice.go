package dirtar

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ustar header field offsets used to patch a PAX extended header block.
const (
	offSize     = 124
	offChecksum = 148
	offType     = 156
)

// spliceRecords formats hdr like tar.Writer would, adds recs (which
// tar.Writer refuses to write) to its PAX extended header, and returns the
// header blocks, ready to be followed by hdr.Size bytes of data.
func spliceRecords(hdr *tar.Header, recs []sparseRecord) ([]byte, error) {
	h := *hdr
	h.PAXRecords = make(map[string]string, len(hdr.PAXRecords)+1)
	for k, v := range hdr.PAXRecords {
		h.PAXRecords[k] = v
	}
	// A path record equal to the name makes tar.Writer emit a PAX block
	// even for a short ASCII name, so there always is one to extend.
	h.PAXRecords["path"] = h.Name
	h.Format = tar.FormatPAX
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// WriteHeader writes the header blocks straight through; the writer is
	// then dropped without data (Flush would complain about it).
	if err := tw.WriteHeader(&h); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) < 2*blockSize || b[offType] != tar.TypeXHeader {
		return nil, errors.New("dirtar: archive/tar wrote no PAX header")
	}
	size, err := strconv.ParseInt(string(bytes.Trim(b[offSize:offSize+12], " \x00")), 8, 64)
	if err != nil {
		return nil, fmt.Errorf("dirtar: PAX header size: %w", err)
	}
	data := b[blockSize : blockSize+size]
	ustar := b[len(b)-blockSize:]

	recData := append([]byte(nil), data...)
	for _, r := range recs {
		recData = append(recData, paxRecord(r.key, r.val)...)
	}
	xhdr := append([]byte(nil), b[:blockSize]...)
	copy(xhdr[offSize:offSize+12], fmt.Sprintf("%011o\x00", len(recData)))
	setChecksum(xhdr)

	out := make([]byte, 0, 2*blockSize+len(recData)+blockSize)
	out = append(out, xhdr...)
	out = append(out, recData...)
	out = append(out, make([]byte, (blockSize-len(recData)%blockSize)%blockSize)...)
	return append(out, ustar...), nil
}

// paxRecord encodes "LEN key=value\n", where LEN counts the whole record
// including its own digits.
func paxRecord(k, v string) []byte {
	body := " " + k + "=" + v + "\n"
	n := len(body) + 1
	for n < len(strconv.Itoa(n))+len(body) {
		n++
	}
	return []byte(strconv.Itoa(n) + body)
}

// setChecksum computes a header block's checksum: the byte sum with the
// checksum field counted as spaces, stored as six octal digits, NUL, space.
func setChecksum(blk []byte) {
	copy(blk[offChecksum:offChecksum+8], "        ")
	var sum int64
	for _, c := range blk[:blockSize] {
		sum += int64(c)
	}
	copy(blk[offChecksum:offChecksum+8], fmt.Sprintf("%06o\x00 ", sum))
}
