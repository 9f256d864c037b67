package dirtar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// StagingPrefix starts the name of the hidden directory a Staged extract
// works in, inside the target.
const StagingPrefix = ".zuulstate-staging-"

// CheckTarget is CheckEmpty for the options an Extract will use: with
// Staged, leftovers of an interrupted staged extract do not count, and
// with Replace any content is accepted.
func CheckTarget(target string, opts ExtractOptions) error {
	if opts.Overwrite || (opts.Staged && opts.Replace) {
		return nil
	}
	if !opts.Staged {
		return CheckEmpty(target)
	}
	names, err := listNames(target)
	if err != nil || len(names) == 0 {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, StagingPrefix) {
			return fmt.Errorf("%w: %s contains %q", ErrTargetNotEmpty, target, n)
		}
	}
	return nil
}

// listNames returns target's entry names, none if it does not exist.
func listNames(target string) ([]string, error) {
	d, err := os.Open(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dirtar: check target: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("dirtar: check target %s: %w", target, err)
	}
	return names, nil
}

func extractStaged(ctx context.Context, r io.Reader, target string, opts ExtractOptions) (ExtractStats, error) {
	if opts.Overwrite {
		return ExtractStats{}, errors.New("dirtar: Staged and Overwrite exclude each other")
	}
	if err := CheckTarget(target, opts); err != nil {
		return ExtractStats{}, err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: create target: %w", err)
	}
	troot, err := os.OpenRoot(target)
	if err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: open target: %w", err)
	}
	defer troot.Close()
	names, err := listNames(target)
	if err != nil {
		return ExtractStats{}, err
	}
	for _, n := range names {
		if strings.HasPrefix(n, StagingPrefix) {
			if err := troot.RemoveAll(n); err != nil {
				return ExtractStats{}, fmt.Errorf("dirtar: remove leftover %s of an interrupted restore: %w", n, err)
			}
		}
	}
	stage := StagingPrefix + randomSuffix()
	if err := troot.Mkdir(stage, 0o700); err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: create staging directory: %w", err)
	}
	stats, err := extractInStage(ctx, r, troot, stage, opts)
	if err != nil {
		// Removal needs no context: it must happen after a cancel too.
		if rerr := troot.RemoveAll(stage); rerr != nil {
			err = errors.Join(err, fmt.Errorf("dirtar: remove staging directory %s/%s: %w", target, stage, rerr))
		}
	}
	return stats, err
}

// extractInStage extracts r into troot/stage, then moves the result into
// troot and applies the archive's root entry to troot itself.
func extractInStage(ctx context.Context, r io.Reader, troot *os.Root, stage string, opts ExtractOptions) (ExtractStats, error) {
	sroot, err := troot.OpenRoot(stage)
	if err != nil {
		return ExtractStats{}, fmt.Errorf("dirtar: open staging directory: %w", err)
	}
	defer sroot.Close()
	x := newExtractor(ctx, sroot, opts)
	if err := x.run(r); err != nil {
		return *x.stats, err
	}
	if opts.Replace {
		if err := emptyExcept(troot, stage); err != nil {
			return *x.stats, err
		}
	}
	if err := moveUp(troot, sroot, stage); err != nil {
		return *x.stats, err
	}
	if x.rootMeta != nil {
		t, err := troot.Open(".")
		if err != nil {
			return *x.stats, fmt.Errorf("dirtar: open target: %w", err)
		}
		defer t.Close()
		if err := x.dirMeta(t, x.rootMeta); err != nil {
			return *x.stats, fmt.Errorf("dirtar: target directory: %w", err)
		}
	}
	return *x.stats, nil
}

// emptyExcept removes every entry of root but keep (restore --force).
func emptyExcept(root *os.Root, keep string) error {
	names, err := listNames(root.Name())
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == keep {
			continue
		}
		if err := root.RemoveAll(n); err != nil {
			return fmt.Errorf("dirtar: empty target: %w", err)
		}
	}
	return nil
}

// moveUp renames every entry of the staging directory into the target
// without replacing anything, then removes the staging directory. A
// directory's mtime is put back if the move touched it (some filesystems
// update it when ".." changes).
func moveUp(troot, sroot *os.Root, stage string) error {
	sdir, err := sroot.Open(".")
	if err != nil {
		return fmt.Errorf("dirtar: open staging directory: %w", err)
	}
	defer sdir.Close()
	tdir, err := troot.Open(".")
	if err != nil {
		return fmt.Errorf("dirtar: open target: %w", err)
	}
	defer tdir.Close()
	names, err := sdir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("dirtar: read staging directory: %w", err)
	}
	sfd, tfd := int(sdir.Fd()), int(tdir.Fd())
	for _, n := range names {
		var before unix.Stat_t
		if err := unix.Fstatat(sfd, n, &before, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("dirtar: %q: %w", n, err)
		}
		if err := renameNoReplace(sfd, tfd, n); err != nil {
			return fmt.Errorf("dirtar: move %q into the target: %w", n, err)
		}
		if before.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		var after unix.Stat_t
		if err := unix.Fstatat(tfd, n, &after, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("dirtar: %q: %w", n, err)
		}
		if after.Mtim != before.Mtim {
			ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, before.Mtim}
			if err := unix.UtimesNanoAt(tfd, n, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("dirtar: %q: set times: %w", n, err)
			}
		}
	}
	if err := troot.Remove(stage); err != nil {
		return fmt.Errorf("dirtar: remove staging directory: %w", err)
	}
	return nil
}

// renameNoReplace moves name from sfd to tfd, failing if tfd has it.
func renameNoReplace(sfd, tfd int, name string) error {
	err := unix.Renameat2(sfd, name, tfd, name, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	// Filesystem without RENAME_NOREPLACE: check, then rename. The target
	// was empty and is ours for the duration of the restore.
	var st unix.Stat_t
	if unix.Fstatat(tfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return os.ErrExist
	}
	return unix.Renameat(sfd, name, tfd, name)
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
