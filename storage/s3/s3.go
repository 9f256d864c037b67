// Package s3 implements storage.Store on an S3-compatible bucket (AWS S3,
// MinIO, Ceph RGW, ...) using minio-go. It owns the connection settings (TLS,
// CA bundle, bucket lookup style), multipart streaming of unknown-length
// uploads, retries of transient failures, and translating S3 errors into the
// storage sentinels with advice the operator can act on.
package s3

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/zuulstate/zuulstate/storage"
)

var _ storage.Store = (*Store)(nil)

// The defaults suit a 2-core machine: two uploads in flight already
// saturate a local MinIO, and a multipart Put then holds 3 × 8 MiB.
const (
	minPartSize     = 5 << 20 // S3's minimum for every part but the last
	defaultPartSize = 8 << 20
	defaultParallel = 2
	defaultRetries  = 5
)

// Config says where the bucket is and how to talk to it. Credentials arrive
// already resolved; this package never reads them from the environment.
type Config struct {
	Endpoint string // host:port, no scheme
	Bucket   string
	Prefix   string // key prefix inside the bucket; leading/trailing "/" ignored
	Region   string // empty: ask the server (one extra request)

	Insecure bool   // plain HTTP instead of TLS
	CAFile   string // extra PEM CA bundle trusted in addition to the system's
	// SkipVerify disables TLS certificate verification. Tests only: anyone on
	// the network path can then read and alter backups and steal credentials.
	SkipVerify bool
	Lookup     string // "auto" (default) | "path" | "dns" (virtual-host style)

	AccessKey, SecretKey, SessionToken string

	// PartSize is the size of the first multipart parts and the largest
	// object sent with a single PUT (default 8 MiB, 5 MiB to 5 GiB). Parts
	// double in size every 900 parts so that any object up to S3's 5 TiB
	// fits in 10,000 parts.
	PartSize int64
	// Parallel is the number of part uploads in flight (default 2). A large
	// Put holds (Parallel+1) × the current part size in memory; see Put.
	Parallel int
	Retries  int // attempts for transient errors, default 5

	// ObjectLock, if set, writes objects under its prefixes with a
	// retention; the bucket must have Object Lock enabled.
	ObjectLock *ObjectLock
}

// Store is a storage.Store on one bucket and prefix.
type Store struct {
	// meta makes a single attempt per call and is driven by Store.retry, which
	// decides what is transient; multipart uploads retry each part that way
	// too, since we hold its bytes. See Put.
	meta *minio.Client

	bucket   string
	prefix   string // "" or ends with "/"
	partSize int64
	parallel int
	retries  int
	insecure bool
	name     string // for String and messages
	lock     *ObjectLock
}

// New connects to the endpoint and checks that the bucket exists, so that
// configuration mistakes surface before any backup work starts.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s, err := newStore(cfg)
	if err != nil {
		return nil, err
	}
	var exists bool
	err = s.retry(ctx, func(ctx context.Context) error {
		var err error
		exists, err = s.meta.BucketExists(ctx, s.bucket)
		return err
	})
	if err != nil {
		return nil, s.mapErr(ctx, "open bucket", "", err)
	}
	if !exists {
		return nil, fmt.Errorf("s3: bucket %q does not exist on %s; create bucket %s or fix bucket: in the configuration: %w",
			s.bucket, cfg.Endpoint, s.bucket, storage.ErrNoBucket)
	}
	if s.lock != nil {
		if err := s.checkObjectLock(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newStore validates cfg, applies defaults and builds the clients.
func newStore(cfg Config) (*Store, error) {
	switch {
	case cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "://"):
		return nil, fmt.Errorf("s3: endpoint %q must be host:port without a scheme (use insecure: true for plain HTTP)", cfg.Endpoint)
	case cfg.Bucket == "":
		return nil, errors.New("s3: bucket is not set")
	case cfg.PartSize != 0 && cfg.PartSize < minPartSize:
		return nil, fmt.Errorf("s3: part_size %d is below the S3 minimum of 5 MiB", cfg.PartSize)
	case cfg.PartSize > maxPartSize:
		return nil, fmt.Errorf("s3: part_size %d is above the S3 maximum of 5 GiB", cfg.PartSize)
	case cfg.Parallel < 0 || cfg.Retries < 0:
		return nil, errors.New("s3: parallel and retries must not be negative")
	case cfg.Insecure && (cfg.CAFile != "" || cfg.SkipVerify):
		return nil, errors.New("s3: ca_file and skip_verify need TLS, but insecure: true selects plain HTTP")
	}
	if err := cfg.ObjectLock.validate(); err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := storage.CheckKey(prefix); err != nil {
			return nil, fmt.Errorf("s3: prefix: %w", err)
		}
		prefix += "/"
	}
	lookup, err := bucketLookup(cfg.Lookup)
	if err != nil {
		return nil, err
	}
	tr, err := transport(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{
		bucket:   cfg.Bucket,
		prefix:   prefix,
		partSize: cmp.Or(cfg.PartSize, defaultPartSize),
		parallel: cmp.Or(cfg.Parallel, defaultParallel),
		retries:  cmp.Or(cfg.Retries, defaultRetries),
		insecure: cfg.Insecure,
		lock:     cfg.ObjectLock,
	}
	scheme := "https"
	if cfg.Insecure {
		scheme = "http"
	}
	s.name = fmt.Sprintf("s3:%s://%s/%s", scheme, cfg.Endpoint, cfg.Bucket)
	if prefix != "" {
		s.name += "/" + strings.TrimSuffix(prefix, "/")
	}

	opts := minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       !cfg.Insecure,
		Transport:    tr,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   1,
	}
	if s.meta, err = minio.New(cfg.Endpoint, &opts); err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	return s, nil
}

func bucketLookup(s string) (minio.BucketLookupType, error) {
	switch s {
	case "", "auto":
		return minio.BucketLookupAuto, nil
	case "path":
		return minio.BucketLookupPath, nil
	case "dns":
		return minio.BucketLookupDNS, nil
	}
	return 0, fmt.Errorf("s3: lookup %q: want auto, path or dns", s)
}

// transport is minio-go's default transport with our TLS settings and a
// shorter dial timeout, so a black-holed endpoint fails in seconds per
// attempt rather than 30.
func transport(cfg Config) (*http.Transport, error) {
	tr, err := minio.DefaultTransport(!cfg.Insecure)
	if err != nil {
		return nil, fmt.Errorf("s3: transport: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if cfg.Insecure {
		return tr, nil
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool() // no system store: trust only ca_file
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3: ca_file %s holds no PEM certificates", cfg.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	tr.TLSClientConfig.InsecureSkipVerify = cfg.SkipVerify
	return tr, nil
}

// String names the location; it never includes credentials.
func (s *Store) String() string { return s.name }

// object validates key and returns its object name in the bucket.
func (s *Store) object(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}
