// Package zktest gives tests of the zookeeper source, its restore and the
// CLI connections to the two ZooKeeper servers of scripts/dev-services.sh
// (prod and dev, plain and TLS with the generated client certificate),
// scratch chroots that are deleted afterwards, and tree builders and dumps
// for comparing two trees node by node.
package zktest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Server names the "prod" or "dev" server, over plain TCP or TLS.
type Server struct {
	Which string // prod or dev
	TLS   bool
}

// Addr returns host:port from ZUULSTATE_TEST_ZK_{PROD,DEV}[_TLS]_ADDR.
func (s Server) Addr(t testing.TB) string {
	t.Helper()
	name := "ZUULSTATE_TEST_ZK_" + strings.ToUpper(s.Which)
	if s.TLS {
		name += "_TLS"
	}
	return testenv.Lookup(t, name+"_ADDR")
}

// TLSFiles returns the CA, client certificate and key files.
func TLSFiles(t testing.TB) (ca, cert, key string) {
	t.Helper()
	return testenv.Lookup(t, "ZUULSTATE_TEST_ZK_CA_FILE"), testenv.Lookup(t, "ZUULSTATE_TEST_ZK_CERT_FILE"),
		testenv.Lookup(t, "ZUULSTATE_TEST_ZK_KEY_FILE")
}

// TLSConfig is the client TLS setup the dev services expect.
func TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	caFile, certFile, keyFile := TLSFiles(t)
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// Config is a connection to s under chroot with short timeouts, with the
// digest auth of DigestUser (clear it to test without).
func (s Server) Config(t testing.TB, chroot string) zkconn.Config {
	t.Helper()
	cfg := zkconn.Config{Servers: []string{s.Addr(t)}, Chroot: chroot, SessionTimeout: 10 * time.Second,
		ConnectTimeout: 10 * time.Second, RequestTimeout: 20 * time.Second,
		DigestUser: DigestUser, DigestPassword: DigestPassword}
	if s.TLS {
		cfg.TLS = TLSConfig(t)
	}
	return cfg
}

// Connect opens a client to s under chroot, closed at the end of the test.
func (s Server) Connect(t testing.TB, chroot string) *zkconn.Client {
	t.Helper()
	c, err := zkconn.Connect(t.Context(), s.Config(t, chroot))
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Chroot creates an empty scratch node on s, named after the test, and
// deletes it with everything below at the end of the test. Using it as the
// chroot keeps tests of /keystorage and friends apart from each other.
func (s Server) Chroot(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	p := "/zuulstate-test-" + name + "-" + hex.EncodeToString(b[:])
	c := s.Connect(t, "")
	if _, err := c.Create(t.Context(), p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("zktest: create %s: %v", p, err)
	}
	t.Cleanup(func() {
		cc, err := zkconn.Connect(context.Background(), s.Config(t, ""))
		if err != nil {
			t.Logf("zktest: cleanup of %s: %v", p, err)
			return
		}
		defer cc.Close()
		if err := DeleteTree(context.Background(), cc, p); err != nil {
			t.Logf("zktest: cleanup of %s: %v", p, err)
		}
	})
	return p
}

// DeleteTree deletes p and everything below it, children first, in multis.
func DeleteTree(ctx context.Context, c *zkconn.Client, p string) error {
	var paths []string
	_, err := zktree.Walk(ctx, c, p, zktree.WalkOptions{KeepEphemeral: true}, func(n *zktree.Node) error {
		paths = append(paths, n.Path)
		return nil
	})
	if err != nil {
		if strings.Contains(err.Error(), zktree.ErrNoRoot.Error()) {
			return nil
		}
		return err
	}
	slices.Reverse(paths)
	for len(paths) > 0 {
		n := min(len(paths), 500)
		ops := make([]any, n)
		for i, q := range paths[:n] {
			ops[i] = &zk.DeleteRequest{Path: q, Version: -1}
		}
		if res, err := c.Multi(ctx, -1, ops); err != nil {
			return zkconn.MultiError(ops, res, err)
		}
		paths = paths[n:]
	}
	return nil
}
