package chunkstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/zuulstate/zuulstate/storage"
)

// ErrNoChunkKey means a backup into an encrypted repository cannot find
// the repository's chunk-id key on this host.
var ErrNoChunkKey = errors.New("chunk-id key not available on this host")

const keyCheckLabel = "zuulstate chunk-id key check"

func keyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(keyCheckLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// derive returns a key for purpose derived from the chunk-id key, so one
// secret serves the ids and the chunk-boundary table without either
// revealing the other.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("zuulstate " + purpose))
	return m.Sum(nil)
}

// recipientTag names the key copy sealed to one set of recipients.
func recipientTag(names []string) string {
	sorted := slices.Sorted(slices.Values(names))
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:8])
}

func keyCopyKey(names []string) string { return KeyPrefix + "chunk-id-" + recipientTag(names) + ".age" }

// localKeyPath is where this host keeps the chunk-id key of repository id.
func localKeyPath(stateDir, repoID string) string {
	return filepath.Join(stateDir, repoID, "chunk-id.key")
}

func readLocalKey(stateDir, repoID string) ([]byte, error) {
	if stateDir == "" {
		return nil, os.ErrNotExist
	}
	data, err := os.ReadFile(localKeyPath(stateDir, repoID))
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: not a chunk-id key (64 hex digits)", localKeyPath(stateDir, repoID))
	}
	return key, nil
}

// saveLocalKey writes the key readable by the owner only; the state
// directory holds it next to the parent caches of this host's backups.
func saveLocalKey(stateDir, repoID string, key []byte) error {
	if stateDir == "" {
		return nil
	}
	p := localKeyPath(stateDir, repoID)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("save chunk-id key: %w", err)
	}
	return os.Rename(tmp, p)
}

func newKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return k
}

// sealKeyCopy stores key encrypted to recipients under a name of its own,
// so an operator holding one of their identities can recover it.
func sealKeyCopy(ctx context.Context, store storage.Store, key []byte, recipients []age.Recipient, names []string) error {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return fmt.Errorf("seal chunk-id key: %w", err)
	}
	fmt.Fprintln(w, hex.EncodeToString(key))
	if err := w.Close(); err != nil {
		return fmt.Errorf("seal chunk-id key: %w", err)
	}
	if err := store.Put(ctx, keyCopyKey(names), &buf); err != nil {
		return fmt.Errorf("write chunk-id key copy: %w", err)
	}
	return nil
}

// openKeyCopies tries every key copy in the repository with identities
// and returns the first key that passes the check.
func openKeyCopies(ctx context.Context, store storage.Store, identities []age.Identity, check string) ([]byte, error) {
	var keys []string
	if err := store.List(ctx, KeyPrefix, func(oi storage.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list chunk-id key copies: %w", err)
	}
	for _, k := range keys {
		rc, err := store.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		r, err := age.Decrypt(io.LimitReader(rc, 64<<10), identities...)
		if err != nil {
			rc.Close()
			continue // sealed to other recipients
		}
		data, err := io.ReadAll(io.LimitReader(r, 1024))
		rc.Close()
		if err != nil {
			continue
		}
		key, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err == nil && len(key) == 32 && keyCheck(key) == check {
			return key, nil
		}
	}
	return nil, os.ErrNotExist
}
