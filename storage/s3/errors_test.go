package s3

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/storage"
)

func TestWrongCredentials(t *testing.T) {
	base := testConfig(t)
	wrongSecret := "wrong-secret-" + randHex(t, 8)
	for name, mutate := range map[string]func(*Config){
		"secret":     func(c *Config) { c.SecretKey = wrongSecret },
		"access key": func(c *Config) { c.AccessKey = "nosuchkey" + randHex(t, 4) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mutate(&cfg)
			_, err := New(t.Context(), cfg)
			if !errors.Is(err, storage.ErrAccessDenied) {
				t.Fatalf("New with a wrong %s = %v, want ErrAccessDenied", name, err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, "access key/secret") {
				t.Errorf("error %q gives no advice about the credentials", msg)
			}
			for _, secret := range []string{wrongSecret, base.SecretKey} {
				if strings.Contains(msg, secret) {
					t.Errorf("error message contains a secret key: %q", msg)
				}
			}
		})
	}
}

func TestMissingBucket(t *testing.T) {
	cfg := testConfig(t)
	cfg.Bucket = "zuulstate-missing-" + randHex(t, 6)
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("New(missing bucket) = %v, want ErrNoBucket", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "create bucket "+cfg.Bucket) {
		t.Errorf("error %q should say to create the bucket", err)
	}
}

// TestUnreachable needs no server: it dials a port nobody listens on and must
// give up within a bounded time, naming the endpoint.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err = New(ctx, Config{Endpoint: endpoint, Bucket: "bucket", Region: "us-east-1", Retries: 3,
		AccessKey: "k", SecretKey: "s"})
	if !errors.Is(err, storage.ErrUnreachable) {
		t.Fatalf("New(closed port) = %v, want ErrUnreachable", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), endpoint) {
		t.Errorf("error %q does not name the endpoint %s", err, endpoint)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up with 3 attempts", d)
	}
}

// TestTLSMistakes checks the advice for a missing CA bundle and for plain
// HTTP sent to a TLS port, and that skip_verify gets past the CA check.
func TestTLSMistakes(t *testing.T) {
	cfg := testConfig(t)
	cfg.CAFile = ""
	t.Setenv("SSL_CERT_FILE", "") // minio-go would add it to the trusted roots
	_, err := New(t.Context(), cfg)
	if err == nil {
		t.Skip("the server's CA is in the system trust store")
	}
	t.Log(err)
	if !errors.Is(err, storage.ErrUnreachable) || !strings.Contains(err.Error(), "set ca_file") {
		t.Errorf("New without the CA = %v, want ErrUnreachable advising ca_file", err)
	}

	cfg.Insecure = true
	_, err = New(t.Context(), cfg)
	t.Log(err)
	if !errors.Is(err, storage.ErrUnreachable) || !strings.Contains(err.Error(), "remove insecure: true") {
		t.Errorf("New with plain HTTP to a TLS port = %v, want ErrUnreachable advising to drop insecure", err)
	}

	cfg.Insecure = false
	cfg.SkipVerify = true
	if _, err := New(t.Context(), cfg); err != nil {
		t.Errorf("New with skip_verify: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Endpoint: "127.0.0.1:9000", Bucket: "b"}
	for name, mutate := range map[string]func(*Config){
		"scheme":       func(c *Config) { c.Endpoint = "https://example.com" },
		"no bucket":    func(c *Config) { c.Bucket = "" },
		"small part":   func(c *Config) { c.PartSize = 1 << 20 },
		"big part":     func(c *Config) { c.PartSize = 6 << 30 },
		"lookup":       func(c *Config) { c.Lookup = "vhost" },
		"ca plaintext": func(c *Config) { c.Insecure, c.CAFile = true, "ca.pem" },
		"bad prefix":   func(c *Config) { c.Prefix = "a/../b" },
		"missing ca":   func(c *Config) { c.CAFile = "/nonexistent/ca.pem" },
	} {
		cfg := ok
		mutate(&cfg)
		if _, err := newStore(cfg); err == nil {
			t.Errorf("%s: newStore(%+v) succeeded", name, cfg)
		}
	}
	s, err := newStore(Config{Endpoint: "h:1", Bucket: "b", Prefix: "/p/q/", SecretKey: "hidden"})
	if err != nil {
		t.Fatal(err)
	}
	if s.prefix != "p/q/" || s.partSize != defaultPartSize || s.parallel != defaultParallel || s.retries != defaultRetries {
		t.Errorf("defaults not applied: %+v", s)
	}
	if got := s.String(); got != "s3:https://h:1/b/p/q" {
		t.Errorf("String() = %q", got)
	}
}

// TestRetryClassification checks retries happen only for transient errors.
func TestRetryClassification(t *testing.T) {
	s := &Store{retries: 3}
	cases := []struct {
		err      error
		attempts int
	}{
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, 3},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, 3},
		{minio.ErrorResponse{Code: "XAmzContentChecksumMismatch", StatusCode: 400}, 3},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, 3},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, 1},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, 1},
		{errors.New("some bug"), 1},
	}
	for _, c := range cases {
		n := 0
		err := s.retry(t.Context(), func(context.Context) error { n++; return c.err })
		if n != c.attempts || err == nil {
			t.Errorf("retry(%v): %d attempts, error %v; want %d attempts", c.err, n, err, c.attempts)
		}
	}
}
