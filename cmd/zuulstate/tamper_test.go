package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/snapshot"
)

// touched lists what a failed restore left on the dev target.
func (f *allFixture) touched(t *testing.T) []string {
	t.Helper()
	var out []string
	var n int
	if err := f.dev.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", f.dstDB).Scan(&n); err == nil && n > 0 {
		out = append(out, "database")
	}
	if _, err := f.eng.API.VolumeInspect(t.Context(), f.dstVol); err == nil {
		out = append(out, "volume")
	}
	if _, err := os.Stat(f.pathsDir); err == nil {
		out = append(out, "paths dir")
	}
	if zktest.Exists(t, f.devZK.Connect(t, f.dchr), "/keystorage") {
		out = append(out, "znodes")
	}
	return out
}

// wipeDev removes whatever a failed restore left on the dev target.
func (f *allFixture) wipeDev(t *testing.T) {
	t.Helper()
	_, _ = f.dev.Exec("DROP DATABASE IF EXISTS `" + f.dstDB + "`")
	voltest.RemoveVolume(t, f.eng, f.dstVol)
	_ = os.RemoveAll(f.pathsDir)
	c := f.devZK.Connect(t, f.dchr)
	for _, p := range []string{"/keystorage", "/keystorage-oidc", "/nodepool", "/zuul-system"} {
		_ = zktest.DeleteTree(t.Context(), c, p)
	}
}

// repoFiles reads every file of a local repository (small in these tests)
// so that each tampering can be undone exactly.
func repoFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func restoreRepo(t *testing.T, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readManifest(t *testing.T, repo, id string) *snapshot.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, snapshot.ManifestKey(id)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.DecodeManifest(id, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeManifest(t *testing.T, repo string, m *snapshot.Manifest) {
	t.Helper()
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, snapshot.ManifestKey(m.ID)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedSnapshots damages a snapshot of every source in each way an
// attacker or a broken disk could, and restores it into the dev target each
// time: the restore must fail with one clear error line and write nothing
// to any target (no directory, database, znode or volume).
func TestTamperedSnapshots(t *testing.T) {
	f := newAllFixture(t)
	f.formatTwo(t)
	f.run(t, "backup", "--quiet").expectOK(t)
	id := latestID(t, f.fixture)
	m := readManifest(t, f.repo, id)
	pristine := repoFiles(t, f.repo)
	manifestPath := filepath.Join(f.repo, snapshot.ManifestKey(id))
	partPath := func(p snapshot.Part) string { return filepath.Join(f.repo, p.Key) }
	firstOf := map[string]snapshot.Part{}
	for _, p := range m.Parts {
		if _, ok := firstOf[p.Source]; !ok {
			firstOf[p.Source] = p
		}
	}
	for _, s := range []string{"paths", "mariadb", "zookeeper", "volumes"} {
		if _, ok := firstOf[s]; !ok {
			t.Fatalf("snapshot has no %s part: %v", s, m.Parts)
		}
	}

	type tamper struct {
		name  string
		apply func(t *testing.T)
		code  int
		says  []string
	}
	var cases []tamper
	// forged marks manifests rewritten consistently (their own checksum
	// recomputed) by someone who can write to the repository. Re-hashing
	// the stored bytes, the default check, cannot tell them from real ones:
	// the restore fails once decoding disagrees, after writing the parts
	// before. restore --deep-verify decodes every part first and must
	// refuse them with nothing written.
	forged := map[string]bool{"forged manifest: a raw checksum changed": true, "forged manifest: a raw size changed": true, "decompression bomb in the paths part": true}
	for _, p := range m.Parts {
		cases = append(cases, tamper{"bit flip in " + p.Source + "/" + p.Name, func(t *testing.T) {
			data := pristine[partPath(p)]
			flipped := bytes.Clone(data)
			flipped[len(flipped)/2] ^= 0x04
			if err := os.WriteFile(partPath(p), flipped, 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"nothing was restored", p.Source + "/" + p.Name}})
	}
	for _, s := range []string{"paths", "mariadb", "zookeeper", "volumes"} {
		p := firstOf[s]
		cases = append(cases, tamper{"truncated " + s + " part", func(t *testing.T) {
			if err := os.WriteFile(partPath(p), pristine[partPath(p)][:p.StoredSize/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"nothing was restored", p.Source + "/" + p.Name}})
	}
	cases = append(cases,
		tamper{"bit flip in the manifest's JSON", func(t *testing.T) {
			data := bytes.Clone(pristine[manifestPath])
			data[bytes.IndexByte(data, ':')] ^= 0x01 // the first ':' becomes ';'
			if err := os.WriteFile(manifestPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"manifest of snapshot " + id}},
		tamper{"bit flip in a recorded checksum", func(t *testing.T) {
			// In the stored bytes: a digit of the first raw_sha256 becomes
			// its neighbour, still a valid manifest but not the one written.
			data := bytes.Clone(pristine[manifestPath])
			at := bytes.Index(data, []byte(`"raw_sha256": "`)) + len(`"raw_sha256": "`)
			for data[at] < '0' || data[at] > '9' {
				at++
			}
			data[at] ^= 0x01
			if err := os.WriteFile(manifestPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"manifest of snapshot " + id, "checksum does not match"}},
		tamper{"forged manifest: a raw checksum changed", func(t *testing.T) {
			mm := readManifest(t, f.repo, id)
			sum := []byte(mm.Parts[0].RawSHA256)
			sum[10] ^= 0x01
			if sum[10] > 'f' || sum[10] < '0' || (sum[10] > '9' && sum[10] < 'a') {
				sum[10] = '0' + (sum[10] % 10)
			}
			mm.Parts[0].RawSHA256 = string(sum)
			writeManifest(t, f.repo, mm)
		}, exitCorrupt, []string{"nothing was restored"}},
		tamper{"forged manifest: a raw size changed", func(t *testing.T) {
			mm := readManifest(t, f.repo, id)
			for i := range mm.Parts {
				if mm.Parts[i].Source == "zookeeper" {
					mm.Parts[i].RawSize ^= 1
				}
			}
			writeManifest(t, f.repo, mm)
		}, exitCorrupt, []string{"nothing was restored", "zookeeper/"}},
	)
	for _, key := range []string{"../../../etc/passwd", "parts/" + id + "/../../manifests/" + id + ".json", "/etc/shadow", "parts/" + id + "/paths/../../x"} {
		cases = append(cases, tamper{"part key " + key, func(t *testing.T) {
			mm := readManifest(t, f.repo, id)
			mm.Parts[0].Key = key
			writeManifest(t, f.repo, mm)
		}, exitCorrupt, []string{"unexpected key"}})
	}
	var bombTook time.Duration
	cases = append(cases, tamper{"decompression bomb in the paths part", func(t *testing.T) {
		// A part that expands to 2 GiB while the manifest (rewritten by
		// the attacker to match its stored bytes) promises its raw size.
		p := firstOf["paths"]
		var stored bytes.Buffer
		enc, err := snapshot.NewEncoder(&stored, snapshot.EncodeOptions{Level: 1})
		if err != nil {
			t.Fatal(err)
		}
		zeros := make([]byte, 4<<20)
		for range 512 {
			if _, err := enc.Write(zeros); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		s := enc.Sums()
		if err := os.WriteFile(partPath(p), stored.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		mm := readManifest(t, f.repo, id)
		for i := range mm.Parts {
			if mm.Parts[i].Key == p.Key {
				mm.Parts[i].StoredSize, mm.Parts[i].StoredSHA256 = s.StoredSize, s.StoredSHA256
			}
		}
		writeManifest(t, f.repo, mm)
		t.Logf("bomb: %d stored bytes expand to %d; the manifest says %d", s.StoredSize, s.RawSize, p.RawSize)
	}, exitCorrupt, []string{"nothing was restored", "longer than the manifest"}})

	rejected, clean := 0, 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restoreRepo(t, pristine)
			defer restoreRepo(t, pristine)
			c.apply(t)
			start := time.Now()
			args := []string{"restore", id, "--target", "dev"}
			if forged[c.name] {
				// The default check: refused, stopped, but while writing.
				r := f.run(t, args...)
				says := slices.DeleteFunc(slices.Clone(c.says), func(s string) bool { return s == "nothing was restored" })
				r.expectFail(t, c.code, says...)
				t.Logf("without --deep-verify: found while writing (left: %v), in %s: %s", f.touched(t), time.Since(start).Round(time.Millisecond), lastLine(r.stderr))
				f.wipeDev(t)
				args = append(args, "--deep-verify")
				start = time.Now()
			}
			r := f.run(t, args...)
			took := time.Since(start)
			if strings.HasPrefix(c.name, "decompression bomb") {
				bombTook = took
			}
			r.expectFail(t, c.code, c.says...)
			f.nothingOnDev(t)
			rejected++
			clean++
			t.Logf("rejected in %s: %s", took.Round(time.Millisecond), lastLine(r.stderr))
		})
	}
	t.Logf("%d of %d tampered snapshots rejected, %d of them before anything was written; the 2 GiB bomb was stopped in %s",
		rejected, len(cases), clean, bombTook.Round(time.Millisecond))

	// The untouched snapshot still restores: the checks above rejected the
	// damage, not the snapshot.
	restoreRepo(t, pristine)
	f.run(t, "verify", id, "--deep").expectOK(t)
}

// TestTamperedWrongIdentity: an encrypted snapshot of every source restored
// with an identity that is not one of its recipients fails before anything
// is written.
func TestTamperedWrongIdentity(t *testing.T) {
	f := newAllFixture(t)
	key, other := filepath.Join(f.dir, "key.txt"), filepath.Join(f.dir, "other.txt")
	r := f.run(t, "keygen", "--output", key)
	r.expectOK(t)
	recipient := strings.TrimSpace(r.stdout)
	f.run(t, "keygen", "--output", other).expectOK(t)
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	withKey := strings.Replace(string(cfg), "repository:\n", "repository:\n  encryption:\n    recipients: ["+recipient+"]\n", 1)
	if err := os.WriteFile(f.config, []byte(withKey), 0o600); err != nil {
		t.Fatal(err)
	}
	f.run(t, "backup", "--quiet").expectOK(t)
	env := f.env
	f.env = append(env, "ZUULSTATE_AGE_IDENTITY_FILE="+other)
	f.run(t, "restore", "latest", "--target", "dev").expectFail(t, exitUsage, "not one of the recipients")
	f.nothingOnDev(t)
	f.env = append(env, "ZUULSTATE_AGE_IDENTITY_FILE="+key)
	f.run(t, "verify", "latest", "--deep").expectOK(t)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
