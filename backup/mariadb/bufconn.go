package mariadb

import (
	"bufio"
	"context"
	"net"
)

// readBufferSize is the read buffer put in front of each dump connection.
// The driver reads the result stream in pieces of at most 4 KiB, one
// system call each: about 100,000 calls for a 400 MB dump, 0.7 s of CPU
// that a 128 KiB buffer turns into a few thousand calls and a copy.
const readBufferSize = 128 << 10

// dialBuffered connects like the driver's own dialer and reads through a
// buffer. Go's dialer turns TCP keep-alives on, which the driver would
// otherwise do itself.
func dialBuffered(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
}

// bufferedConn is a connection whose reads go through r. Deadlines, writes
// and Close are the connection's own; TLS, started by the driver after the
// handshake, reads through it too.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
