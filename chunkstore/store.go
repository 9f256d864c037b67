// Package chunkstore is the content-addressed chunk store of repository
// format 3: parts are cut into chunks (package chunker), each chunk is
// named by a keyed hash of its content, compressed and optionally
// age-encrypted on its own, and stored once in packs; indexes say where
// each chunk lies and chunk lists say which chunks make a part. A backup
// stores only chunks the repository does not hold yet.
//
// The backup host needs the age public keys and the repository's chunk-id
// key, never an age identity: it can write, verify stored bytes and prune,
// and it can tell which chunks exist, but it cannot read what earlier
// snapshots contain. docs/FORMAT.md describes every object and the threat
// model.
package chunkstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/storage"
)

// ErrNotInitialized means the repository has no format 3 chunk store yet.
var ErrNotInitialized = errors.New("repository has no chunk store")

// Config is the repository's repo.json: written once, by the first format
// 3 backup, and never changed.
type Config struct {
	Format  int       `json:"format"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// ChunkID names how chunk ids are computed.
	ChunkID string `json:"chunk_id"`
	// KeyCheck is an HMAC of a fixed label under the chunk-id key: it tells
	// a key that belongs to this repository from one that does not, and
	// reveals nothing of the key.
	KeyCheck string `json:"key_check"`
	// Key is the chunk-id key itself, kept here only when the repository
	// was created without encryption: its chunks are readable anyway.
	Key string `json:"key,omitempty"`
}

// Options open a chunk store.
type Options struct {
	// Recipients seal new chunks (nil: stored unencrypted), RecipientNames
	// are their public keys.
	Recipients     []age.Recipient
	RecipientNames []string
	// Identities open encrypted chunks and, once, the key copy.
	Identities []age.Identity
	// StateDir holds this host's copy of the chunk-id key and its parent
	// caches; "" keeps neither (every backup reads every file).
	StateDir string
}

// Store is an open chunk store.
type Store struct {
	store storage.Store
	cfg   Config
	opts  Options
	ids   *hasherPool // this run's recipients' ids; nil: the chunk-id key is not known here
	key   []byte

	idsMu    sync.Mutex
	idsByTag map[string]*hasherPool
}

// Open opens the chunk store of a repository for reading (restore, verify,
// prune). Without the chunk-id key, chunks are still read, but their ids
// cannot be checked against their content.
func Open(ctx context.Context, store storage.Store, opts Options) (*Store, error) {
	cfg, err := readConfig(ctx, store)
	if err != nil {
		return nil, err
	}
	s := &Store{store: store, cfg: cfg, opts: opts}
	key, err := s.findKey(ctx)
	switch {
	case err == nil:
		s.setKey(key)
		// Keep what an identity recovered: after a restore on a new host,
		// the next backup finds the key without the identity.
		_ = saveLocalKey(opts.StateDir, cfg.ID, key)
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return s, nil
}

// OpenForBackup opens the chunk store for writing, creating it on the
// first backup. It needs the chunk-id key; the caller holds the lock.
func OpenForBackup(ctx context.Context, store storage.Store, opts Options) (*Store, error) {
	cfg, err := readConfig(ctx, store)
	if errors.Is(err, ErrNotInitialized) {
		return create(ctx, store, opts)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{store: store, cfg: cfg, opts: opts}
	if cfg.Key != "" && len(opts.Recipients) > 0 {
		return nil, fmt.Errorf("repository %s was created without encryption, so its chunk-id key is stored in the clear: encrypted backups into it would let a reader of the bucket confirm guesses of their content; write encrypted backups to a new repository (another prefix or directory)", store)
	}
	key, err := s.findKey(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: repository %s (id %s) keeps its chunk-id key encrypted to its recipients, and %s holds no copy: copy that file from a host that backs up to this repository, or set encryption.identity_file for one run so the key is recovered",
			ErrNoChunkKey, store, cfg.ID, localKeyPath(opts.StateDir, cfg.ID))
	}
	if err != nil {
		return nil, err
	}
	s.setKey(key)
	if err := saveLocalKey(opts.StateDir, cfg.ID, key); err != nil {
		return nil, err
	}
	if len(opts.Recipients) > 0 {
		// A copy for the current recipients, so a change of keys does not
		// lock the operator out of the id check.
		if _, err := store.Stat(ctx, keyCopyKey(opts.RecipientNames)); errors.Is(err, storage.ErrNotFound) {
			if err := sealKeyCopy(ctx, store, key, opts.Recipients, opts.RecipientNames); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, fmt.Errorf("check chunk-id key copy: %w", err)
		}
	}
	return s, nil
}

// newRepositoryChunkID is the scheme a new repository's chunk ids use; a
// test creates repositories of the older scheme by changing it.
var newRepositoryChunkID = chunkIDBLAKE3

func create(ctx context.Context, store storage.Store, opts Options) (*Store, error) {
	key := newKey()
	cfg := Config{Format: 3, ID: hex.EncodeToString(newKey()[:8]), Created: time.Now().UTC(), ChunkID: newRepositoryChunkID, KeyCheck: keyCheck(key)}
	if len(opts.Recipients) == 0 {
		cfg.Key = hex.EncodeToString(key)
	} else if err := sealKeyCopy(ctx, store, key, opts.Recipients, opts.RecipientNames); err != nil {
		return nil, err
	}
	if err := saveLocalKey(opts.StateDir, cfg.ID, key); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := store.Put(ctx, ConfigKey, bytes.NewReader(append(data, '\n'))); err != nil {
		return nil, fmt.Errorf("write %s: %w", ConfigKey, err)
	}
	s := &Store{store: store, cfg: cfg, opts: opts}
	s.setKey(key)
	return s, nil
}

func readConfig(ctx context.Context, store storage.Store) (Config, error) {
	var cfg Config
	rc, err := store.Get(ctx, ConfigKey)
	if errors.Is(err, storage.ErrNotFound) {
		return cfg, fmt.Errorf("%w: %s has no %s", ErrNotInitialized, store, ConfigKey)
	}
	if err != nil {
		return cfg, fmt.Errorf("read %s: %w", ConfigKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return cfg, fmt.Errorf("read %s: %w", ConfigKey, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w: %w", ConfigKey, snapshot.ErrCorrupt, err)
	}
	switch {
	case cfg.Format > 3:
		return cfg, fmt.Errorf("repository %s uses chunk store format %d; this zuulstate knows 3: upgrade zuulstate", store, cfg.Format)
	case cfg.Format != 3 || cfg.ChunkID != chunkIDBLAKE3 && cfg.ChunkID != chunkIDHMAC || !isLowerHex(cfg.ID, 16) || !isLowerHex(cfg.KeyCheck, 64):
		// The id names this host's directory in state_dir: anything but
		// hex could lead the key and the parent caches elsewhere.
		return cfg, fmt.Errorf("%s: %w: unexpected format, id or chunk id scheme", ConfigKey, snapshot.ErrCorrupt)
	}
	if cfg.Key != "" {
		key, err := hex.DecodeString(cfg.Key)
		if err != nil || len(key) != 32 || keyCheck(key) != cfg.KeyCheck {
			return cfg, fmt.Errorf("%s: %w: its key does not match its key check", ConfigKey, snapshot.ErrCorrupt)
		}
	}
	return cfg, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// findKey looks for the chunk-id key: in repo.json (unencrypted
// repositories), in this host's state directory, then in the key copies
// with the configured identities. os.ErrNotExist means none has it.
func (s *Store) findKey(ctx context.Context) ([]byte, error) {
	if s.cfg.Key != "" {
		return hex.DecodeString(s.cfg.Key)
	}
	key, err := readLocalKey(s.opts.StateDir, s.cfg.ID)
	switch {
	case err == nil && keyCheck(key) != s.cfg.KeyCheck:
		return nil, fmt.Errorf("%s holds a chunk-id key of another repository: remove it (a repository with id %s was recreated at %s?)", localKeyPath(s.opts.StateDir, s.cfg.ID), s.cfg.ID, s.store)
	case err == nil:
		return key, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if len(s.opts.Identities) == 0 {
		return nil, os.ErrNotExist
	}
	return openKeyCopies(ctx, s.store, s.opts.Identities, s.cfg.KeyCheck)
}

func (s *Store) setKey(key []byte) {
	s.key = key
	s.ids = s.idsFor(s.opts.RecipientNames)
}

// idsFor returns the id hasher of chunks sealed to recipients (nil without
// the chunk-id key). Each set of recipients has an id key of its own,
// derived from the chunk-id key: a backup finds in the index only chunks
// sealed to its own recipients, so after a change of keys it stores every
// chunk anew once, instead of reusing chunks the new identity cannot open.
// Unencrypted chunks keep the chunk-id key itself.
func (s *Store) idsFor(recipients []string) *hasherPool {
	if s.key == nil {
		return nil
	}
	tag := ""
	if len(recipients) > 0 {
		tag = recipientTag(recipients)
	}
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	if p := s.idsByTag[tag]; p != nil {
		return p
	}
	key := s.key
	if tag != "" {
		key = derive(s.key, "chunk ids for recipients "+tag)
	}
	p := newIDPool(s.cfg.ChunkID, key)
	if s.idsByTag == nil {
		s.idsByTag = map[string]*hasherPool{}
	}
	s.idsByTag[tag] = p
	return p
}

// Config returns repo.json.
func (s *Store) Config() Config { return s.cfg }

// CanCheckIDs reports whether chunk ids can be checked against content.
func (s *Store) CanCheckIDs() bool { return s.ids != nil }

// Storage returns the underlying object store.
func (s *Store) Storage() storage.Store { return s.store }
