package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// zuulstate is one local zuulstate repository with its configuration and
// state directory (chunk-id key, parent caches).
type zuulstate struct {
	bin, config, repo, state string
}

// newZuulstate writes a configuration for a fresh repository under dir:
// age-encrypted to the benchmark's key, format 3 unless dedup is false,
// with the given sources section.
func newZuulstate(dir, bin string, k key, dedup bool, sources string) (*zuulstate, error) {
	z := &zuulstate{bin: bin, config: filepath.Join(dir, "zuulstate.yaml"), repo: filepath.Join(dir, "repo"), state: filepath.Join(dir, "state")}
	if err := os.MkdirAll(z.repo, 0o700); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("state_dir: %s\nrepository:\n  local:\n    path: %s\n  encryption:\n    recipients: [%s]\n    identity_file: %s\n",
		z.state, z.repo, k.recipient, k.file)
	if !dedup {
		body += "  dedup: false\n"
	}
	return z, os.WriteFile(z.config, []byte(body+sources), 0o600)
}

func (z *zuulstate) backup() []string {
	return []string{z.bin, "backup", "--quiet", "--config", z.config}
}

func (z *zuulstate) restore(dir string) []string {
	return []string{z.bin, "restore", "latest", "--quiet", "--config", z.config, "--paths-dir", dir}
}

// stats reads what a snapshot's manifest says about its parts: raw bytes,
// bytes newly stored (format 3) and files reused unread.
type stats struct {
	raw, newStored, reusedFiles int64
}

// stats of the repository's latest snapshot (backup --quiet prints no id).
func (z *zuulstate) stats(ctx context.Context) (stats, error) {
	out, err := run(ctx, nil, z.bin, "show", "latest", "--json", "--config", z.config)
	if err != nil {
		return stats{}, err
	}
	var m struct {
		Parts []struct {
			RawSize    int64 `json:"raw_size"`
			StoredSize int64 `json:"stored_size"`
			Chunked    *struct {
				NewBytes    int64 `json:"new_bytes"`
				ReusedFiles int64 `json:"reused_files"`
			} `json:"chunked"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return stats{}, fmt.Errorf("manifest of the latest snapshot: %w", err)
	}
	var s stats
	for _, p := range m.Parts {
		s.raw += p.RawSize
		if p.Chunked != nil {
			s.newStored += p.Chunked.NewBytes + p.StoredSize // chunks and the chunk list
			s.reusedFiles += p.Chunked.ReusedFiles
		} else {
			s.newStored += p.StoredSize
		}
	}
	return s, nil
}

// restic is one local restic repository. The password is in a file named
// by RESTIC_PASSWORD_FILE, never on the command line; the cache is the
// repository's own, so runs do not share one.
type restic struct {
	repo, cache string
	env         []string
}

func newRestic(ctx context.Context, dir string) (*restic, error) {
	r := &restic{repo: filepath.Join(dir, "repo"), cache: filepath.Join(dir, "cache")}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "password")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pw, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, err
	}
	r.env = []string{"RESTIC_REPOSITORY=" + r.repo, "RESTIC_PASSWORD_FILE=" + pw, "RESTIC_CACHE_DIR=" + r.cache}
	_, err := run(ctx, r.env, "restic", "init", "--quiet")
	return r, err
}

// key is the age key pair zuulstate encrypts to, made once with
// `zuulstate keygen` and kept in the work directory.
type key struct{ file, recipient string }

func ensureKey(ctx context.Context, bin, work string) (key, error) {
	k := key{file: filepath.Join(work, "age-key.txt")}
	if _, err := os.Stat(k.file); err != nil {
		if _, err := run(ctx, nil, bin, "keygen", "--output", k.file); err != nil {
			return k, err
		}
	}
	data, err := os.ReadFile(k.file)
	if err != nil {
		return k, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if r, ok := strings.CutPrefix(line, "# public key: "); ok {
			k.recipient = strings.TrimSpace(r)
		}
	}
	if k.recipient == "" {
		return k, fmt.Errorf("%s: no public key line", k.file)
	}
	return k, nil
}
