package config

import (
	"context"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/repository"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
	"github.com/zuulstate/zuulstate/storage/local"
	"github.com/zuulstate/zuulstate/storage/s3"
)

// OpenStore connects to the configured storage backend.
func OpenStore(ctx context.Context, c *Config) (storage.Store, error) {
	r := c.Repository
	if r.Local != nil {
		return local.New(r.Local.Path)
	}
	s := r.S3
	return s3.New(ctx, s3.Config{
		Endpoint: s.Endpoint, Bucket: s.Bucket, Prefix: s.Prefix, Region: s.Region,
		Insecure: s.Insecure, CAFile: s.CAFile, SkipVerify: s.SkipVerify, Lookup: s.Lookup,
		AccessKey: s.AccessKey.Reveal(), SecretKey: s.SecretKey.Reveal(), SessionToken: s.SessionToken.Reveal(),
		PartSize: int64(s.PartSize), Parallel: s.Parallel, Retries: s.Retries,
		ObjectLock: s.ObjectLock.s3ObjectLock(),
	})
}

// OpenRepository connects to storage and prepares the codec options:
// recipients for writing, identities (if configured) for reading.
func OpenRepository(ctx context.Context, c *Config) (*repository.Repository, error) {
	opts, err := c.repositoryOptions()
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, c)
	if err != nil {
		return nil, err
	}
	return repository.New(store, opts), nil
}

// defaultSourceLevels apply when compression_level is not set (0); other
// sources get the codec's default, 3. SQL dumps come out as small at zstd
// level 1 as at 3 (98 against 99 MB for the benchmark's Zuul database) for
// 28% less of the dump's CPU, which on a small host is what a dump waits
// for (BENCHMARKS.md).
var defaultSourceLevels = map[string]int{"mariadb": 1}

// defaultChunkLevel applies to every source in format 3 when
// compression_level is not set. Each chunk is a zstd frame of its own,
// without the history a stream has, and at level 3 such frames cost 1.5
// times the CPU of one stream of the same bytes (512 KiB frames of build
// logs: 144 against 209 MB/s); level 1 runs at 283 MB/s and stores 1.4%
// more. Only new chunks are compressed, so the level weighs mostly on the
// first backup (BENCHMARKS.md, the nightly benchmark).
const defaultChunkLevel = 1

func (c *Config) repositoryOptions() (repository.Options, error) {
	e := c.Repository.Encryption
	opts := repository.Options{
		Encode:    snapshot.EncodeOptions{Level: c.Repository.Level},
		Dedup:     c.Repository.DedupEnabled(),
		StateDir:  c.StateDir,
		ForceRead: c.Repository.ForceRead,
		PackSize:  int(c.Repository.PackSize),
	}
	switch {
	case c.Repository.Level != 0:
	case opts.Dedup:
		opts.Encode.Level = defaultChunkLevel
	default:
		opts.SourceLevels = defaultSourceLevels
	}
	lines := append([]string(nil), e.Recipients...)
	if e.RecipientsFile != "" {
		data, err := os.ReadFile(e.RecipientsFile)
		if err != nil {
			return opts, fmt.Errorf("%w: repository.encryption.recipients_file: %w", ErrInvalid, err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r, err := age.ParseX25519Recipient(l)
		if err != nil {
			return opts, fmt.Errorf("%w: repository.encryption: recipient %q: %w (expected an age1… public key)", ErrInvalid, l, err)
		}
		opts.Encode.Recipients = append(opts.Encode.Recipients, r)
		opts.RecipientNames = append(opts.RecipientNames, r.String())
	}
	if e.Identity.IsSet() {
		ids, err := age.ParseIdentities(strings.NewReader(e.Identity.Reveal()))
		if err != nil {
			// The parser's message may quote the key; never show it.
			return opts, fmt.Errorf("%w: repository.encryption.identity: not a valid age identity (expected AGE-SECRET-KEY-1… lines)", ErrInvalid)
		}
		opts.Identities = ids
	}
	return opts, nil
}
