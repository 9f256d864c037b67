package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/zuulstate/zuulstate/storage"
)

// S3 error codes, by how we treat them.
var (
	deniedCodes = map[string]bool{
		"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
		"InvalidToken": true, "ExpiredToken": true, "AllAccessDisabled": true,
	}
	transientCodes = map[string]bool{
		"SlowDown": true, "SlowDownRead": true, "SlowDownWrite": true, "RequestTimeout": true,
		"InternalError": true, "ServiceUnavailable": true, "Throttling": true,
		"ThrottlingException": true, "RequestThrottled": true, "RequestLimitExceeded": true,
		// The body arrived damaged (its checksum did not match). Every
		// body we send is held in memory, so resending it is safe.
		"BadDigest": true, "XAmzContentChecksumMismatch": true, "XAmzContentSHA256Mismatch": true,
	}
)

// transient reports whether retrying err may succeed: network failures,
// throttling and server-side (5xx) errors. Client errors (4xx) such as
// AccessDenied or NoSuchBucket will not change on their own, and neither do
// TLS verification failures.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return transientCodes[er.Code] || er.StatusCode >= 500 || er.StatusCode == 429 || er.StatusCode == 408
	}
	if tlsAdvice(err) != "" {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retry runs fn up to s.retries times while it fails transiently, sleeping
// with exponential backoff and jitter (so many clients hitting a throttled
// server do not retry in lockstep).
func (s *Store) retry(ctx context.Context, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt >= s.retries || !transient(ctx, err) {
			return err
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err // mapErr reports the cancellation
		}
	}
}

// backoff is 100ms doubling per attempt, capped at 5s, with half of it
// randomised.
func backoff(attempt int) time.Duration {
	d := min(100*time.Millisecond<<(attempt-1), 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// tlsAdvice returns operator advice for TLS set-up errors, or "".
func tlsAdvice(err error) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		return "the server's TLS certificate is signed by an unknown authority; set ca_file to the PEM bundle of the CA that signed it"
	case errors.As(err, &he):
		return "the server's TLS certificate does not match the endpoint host name; fix endpoint: or the certificate"
	case errors.As(err, &ci):
		return "the server's TLS certificate is invalid (expired or not yet valid?)"
	case errors.As(err, &rh), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS; set insecure: true if plain HTTP is intended"
	}
	return ""
}

// mapErr wraps err for operation op on key ("" for the bucket), adding the
// storage sentinel callers test for and advice. Error texts from minio-go and
// net/http carry URLs and S3 messages but never the secret key.
func (s *Store) mapErr(ctx context.Context, op, key string, err error) error {
	where := s.name
	if key != "" {
		where += "/" + key
	}
	prefix := "s3 " + op + " " + where
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		return fmt.Errorf("%s: %w (%w)", prefix, cerr, err)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == minio.NoSuchKey:
			return fmt.Errorf("%s: %w", prefix, storage.ErrNotFound)
		case er.Code == minio.NoSuchBucket:
			return fmt.Errorf("%s: bucket %q does not exist; create bucket %s or fix bucket: in the configuration: %w",
				prefix, s.bucket, s.bucket, storage.ErrNoBucket)
		case deniedCodes[er.Code] || er.StatusCode == 403:
			return fmt.Errorf("%s: %w: check access key/secret (and session token) and the bucket policy: %s (%s)",
				prefix, storage.ErrAccessDenied, er.Code, er.Message)
		case s.insecure && er.StatusCode == 400 && strings.HasPrefix(er.Code, "400 "):
			// A bare 400 without an S3 error body: typically a TLS port
			// answering plain HTTP ("Client sent an HTTP request to an
			// HTTPS server"), which minio-go cannot show for HEAD requests.
			return fmt.Errorf("%s: %w: the server rejected a plain HTTP request; if it serves TLS, remove insecure: true: %w",
				prefix, storage.ErrUnreachable, err)
		}
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if advice := tlsAdvice(err); advice != "" {
		return fmt.Errorf("%s: %w: %s: %w", prefix, storage.ErrUnreachable, advice, err)
	}
	if transient(ctx, err) {
		return fmt.Errorf("%s: %w: check that the server is running and that endpoint: is right: %w",
			prefix, storage.ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
