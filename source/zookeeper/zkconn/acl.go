package zkconn

import (
	"bufio"
	"context"
	"crypto/sha1" //nolint:gosec // ZooKeeper's digest scheme is defined as SHA-1
	"encoding/base64"
	"io"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// FormatACL writes an entry as zkCli does and as the configuration takes
// it (config.ParseACL).
func FormatACL(a zk.ACL) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		l   byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if a.Perms&p.bit != 0 {
			b.WriteByte(p.l)
		}
	}
	return a.Scheme + ":" + a.ID + ":" + b.String()
}

// DigestID is the id a digest ACL entry holds for user with password:
// user:base64(sha1(user:password)).
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password)) //nolint:gosec // see import
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Masked reports whether a is a digest entry whose hash the server hid
// ("digest:user:x"), as it does for readers without ADMIN permission.
func Masked(a zk.ACL) bool {
	return a.Scheme == "digest" && strings.HasSuffix(a.ID, ":x")
}

// Grants reports whether acl gives all of perms to a session that is
// anonymous or authenticated as digest id (empty: none). Entries for other
// schemes (ip, x509, sasl) are not evaluated and grant nothing here.
func Grants(acl []zk.ACL, perms int32, digestID string) bool {
	var have int32
	for _, a := range acl {
		if (a.Scheme == "world" && a.ID == "anyone") || (digestID != "" && a.Scheme == "digest" && a.ID == digestID) {
			have |= a.Perms
		}
	}
	return have&perms == perms
}

// DigestIDOf is the configured digest identity of the client, or "".
func (c *Client) DigestIDOf() string {
	if c.cfg.DigestUser == "" {
		return ""
	}
	return DigestID(c.cfg.DigestUser, c.cfg.DigestPassword)
}

// ServerVersion asks the first server for its version with the srvr
// four-letter command (allowed by default) over the configured transport;
// "" when it does not answer.
func (c *Client) ServerVersion(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out := make(chan string, 1)
	go func() {
		conn, err := c.dialRaw("tcp", c.cfg.Servers[0], 5*time.Second)
		if err != nil {
			out <- ""
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, "srvr"); err != nil {
			out <- ""
			return
		}
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Zookeeper version: "); ok {
				v, _, _ = strings.Cut(v, ",")
				out <- v
				return
			}
		}
		out <- ""
	}()
	select {
	case v := <-out:
		return v
	case <-ctx.Done():
		return ""
	}
}
