package testenv_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

const ioTimeout = 10 * time.Second

// TestServices proves that every service started by scripts/dev-services.sh
// answers where its environment variables say it does.
func TestServices(t *testing.T) {
	t.Run("MariaDB", func(t *testing.T) {
		for _, inst := range []string{"PROD", "DEV"} {
			t.Run(inst+"/tcp", func(t *testing.T) {
				addr := testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_"+inst+"_ADDR")
				checkMariaDBGreeting(t, "tcp", addr)
			})
			t.Run(inst+"/socket", func(t *testing.T) {
				sock := testenv.Lookup(t, "ZUULSTATE_TEST_MARIADB_"+inst+"_SOCKET")
				checkMariaDBGreeting(t, "unix", sock)
			})
		}
	})

	t.Run("ZooKeeper", func(t *testing.T) {
		for _, inst := range []string{"PROD", "DEV"} {
			t.Run(inst+"/plain", func(t *testing.T) {
				addr := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_"+inst+"_ADDR")
				conn, err := net.DialTimeout("tcp", addr, ioTimeout)
				if err != nil {
					t.Fatal(err)
				}
				if got := ruok(t, conn); got != "imok" {
					t.Fatalf("ruok on %s: got %q, want imok", addr, got)
				}
			})
			t.Run(inst+"/tls", func(t *testing.T) {
				addr := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_"+inst+"_TLS_ADDR")
				cfg := zkTLSConfig(t)
				conn := dialTLS(t, addr, cfg)
				state := conn.ConnectionState()
				if len(state.VerifiedChains) == 0 {
					t.Fatal("server certificate was not verified")
				}
				if got := ruok(t, conn); got != "imok" {
					t.Fatalf("ruok over TLS on %s: got %q, want imok", addr, got)
				}
			})
			t.Run(inst+"/tls-needs-client-cert", func(t *testing.T) {
				addr := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_"+inst+"_TLS_ADDR")
				cfg := zkTLSConfig(t)
				cfg.Certificates = nil
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, cfg)
				if err != nil {
					return // refused during the handshake (TLS 1.2)
				}
				// With TLS 1.3 the server judges the client's certificate
				// after the client's side of the handshake is done, so the
				// refusal shows up on the first read.
				if got, err := ruokErr(conn); err == nil && got == "imok" {
					t.Fatalf("%s answered a client without a certificate", addr)
				}
			})
		}
	})

	t.Run("Docker", func(t *testing.T) {
		host := testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_HOST")
		sock, ok := strings.CutPrefix(host, "unix://")
		if !ok {
			t.Fatalf("ZUULSTATE_TEST_DOCKER_HOST=%q is not a unix:// address", host)
		}
		client := &http.Client{
			Timeout: ioTimeout,
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "unix", sock)
				},
			},
		}
		body := get(t, client, "http://docker/_ping")
		if body != "OK" {
			t.Fatalf("GET /_ping: got %q, want OK", body)
		}
	})

	t.Run("MinIO", func(t *testing.T) {
		endpoint := testenv.Lookup(t, "ZUULSTATE_TEST_S3_ENDPOINT")
		caFile := testenv.Lookup(t, "ZUULSTATE_TEST_S3_CA_FILE")
		for _, name := range []string{
			"ZUULSTATE_TEST_S3_ACCESS_KEY", "ZUULSTATE_TEST_S3_SECRET_KEY",
			"ZUULSTATE_TEST_S3_BUCKET", "ZUULSTATE_TEST_S3_REGION",
		} {
			testenv.Lookup(t, name)
		}
		client := &http.Client{
			Timeout: ioTimeout,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: certPool(t, caFile)},
			},
		}
		get(t, client, "https://"+endpoint+"/minio/health/live")
	})
}

// checkMariaDBGreeting reads the initial handshake packet a MariaDB server
// sends on connect: a 4-byte header, protocol version 10 and the server
// version as a NUL-terminated string.
func checkMariaDBGreeting(t *testing.T, network, addr string) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		t.Fatalf("reading greeting header from %s: %v", addr, err)
	}
	n := int(binary.LittleEndian.Uint32(append(hdr[:3:3], 0)))
	if n < 2 || n > 1<<16 {
		t.Fatalf("greeting from %s: implausible length %d", addr, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(conn, payload); err != nil {
		t.Fatalf("reading greeting from %s: %v", addr, err)
	}
	if payload[0] != 10 {
		t.Fatalf("greeting from %s: protocol version %d, want 10 (payload %q)", addr, payload[0], payload)
	}
	version, _, ok := bytes.Cut(payload[1:], []byte{0})
	if !ok || !bytes.Contains(version, []byte("MariaDB")) {
		t.Fatalf("greeting from %s: server version %q does not name MariaDB", addr, version)
	}
	t.Logf("%s %s: %s", network, addr, version)
}

func zkTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	caFile := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_CA_FILE")
	certFile := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_CERT_FILE")
	keyFile := testenv.Lookup(t, "ZUULSTATE_TEST_ZK_KEY_FILE")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		RootCAs:      certPool(t, caFile),
		Certificates: []tls.Certificate{cert},
		ServerName:   "127.0.0.1",
	}
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	return conn
}

// ruok sends ZooKeeper's "are you ok" four-letter word and returns the answer.
func ruok(t *testing.T, conn net.Conn) string {
	t.Helper()
	got, err := ruokErr(conn)
	if err != nil {
		t.Fatalf("ruok to %s: %v", conn.RemoteAddr(), err)
	}
	return got
}

func ruokErr(conn net.Conn) (string, error) {
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "ruok"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.EOF) {
		return string(b), err
	}
	return string(b), nil
}

func certPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificates in %s", caFile)
	}
	return pool
}

// get fetches url, requires 200 OK and returns the body.
func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}
