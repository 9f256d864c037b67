package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/chunkstore"
)

// TestTamperedSnapshotsFormat3 damages the format 3 objects of an encrypted
// snapshot of every source — packs, index objects, chunk lists — and
// restores it into the dev target each time: the restore must fail with
// one clear error line and write nothing to any target. Consistent
// forgeries (objects rewritten with every checksum that names them) are
// refused up front by restore --deep-verify.
func TestTamperedSnapshotsFormat3(t *testing.T) {
	f := newAllFixture(t)
	f.encrypt(t)
	// The first snapshot holds a file the second no longer has: its
	// chunks are "another snapshot's" for the forgeries.
	gone := filepath.Join(f.data, "gone.img")
	writeIncompressible(t, gone, 3<<20)
	f.run(t, "backup", "--quiet").expectOK(t)
	other := readManifest(t, f.repo, latestID(t, f.fixture))
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	f.run(t, "backup", "--quiet").expectOK(t)
	id := latestID(t, f.fixture)
	m := readManifest(t, f.repo, id)
	if m.Format != 3 {
		t.Fatalf("the default wrote format %d, want 3", m.Format)
	}
	pristine := repoFiles(t, f.repo)
	entries, indexOf := chunkLocations(t, f.repo)
	packPath := func(ref chunkstore.Ref) string { return filepath.Join(f.repo, entries[ref.ID].Pack) }

	refs := map[string][]chunkstore.Ref{}
	first := map[string]int{} // source → index of its first part
	mine := map[chunkstore.ID]bool{}
	for i, p := range m.Parts {
		refs[p.Key] = chunkRefs(t, f.repo, p)
		for _, r := range refs[p.Key] {
			mine[r.ID] = true
		}
		if _, ok := first[p.Source]; !ok {
			first[p.Source] = i
		}
	}
	for _, s := range []string{"paths", "mariadb", "zookeeper", "volumes"} {
		if _, ok := first[s]; !ok {
			t.Fatalf("snapshot has no %s part: %v", s, m.Parts)
		}
	}
	var foreign chunkstore.IndexEntry // the largest chunk only the other snapshot uses
	for _, p := range other.Parts {
		for _, r := range chunkRefs(t, f.repo, p) {
			if e := entries[r.ID]; !mine[r.ID] && e.RawSize > foreign.RawSize {
				foreign = e
			}
		}
	}
	if foreign.RawSize == 0 {
		t.Fatal("the other snapshot has no chunk of its own")
	}
	zk := m.Parts[first["zookeeper"]]
	paths := m.Parts[first["paths"]]
	firstRef := refs[paths.Key][0]

	type tamper struct {
		name  string
		apply func(t *testing.T)
		code  int
		says  []string
	}
	var cases []tamper
	// Forgeries the stored bytes' checksums cannot see. The pack's own
	// table usually tells before anything is written; where it cannot, the
	// restore stops while writing; --deep-verify decodes first.
	forged := map[string]bool{}
	// The pack's table catches a location moved to another chunk; the id
	// check of the decoded content catches what the table cannot.
	forgeryVerdicts := []string{"differently from the index", "does not match its id"}
	forgeryCaught := func(t *testing.T, r result) {
		t.Helper()
		if last := lastLine(r.stderr); !strings.Contains(last, forgeryVerdicts[0]) && !strings.Contains(last, forgeryVerdicts[1]) {
			t.Fatalf("error line %q gives neither verdict of %q", last, forgeryVerdicts)
		}
	}
	for _, s := range []string{"volumes", "paths", "mariadb", "zookeeper"} {
		p := m.Parts[first[s]]
		ref := refs[p.Key][0]
		cases = append(cases, tamper{"bit flip in a chunk of " + p.Source + "/" + p.Name, func(t *testing.T) {
			e := entries[ref.ID]
			flipInFile(t, packPath(ref), pristine[packPath(ref)], e.Offset+int64(e.StoredSize)/2)
		}, exitCorrupt, []string{"nothing was restored", p.Source + "/" + p.Name, "stored bytes differ from the index"}})
	}
	for _, p := range m.Parts {
		cases = append(cases, tamper{"bit flip in the chunk list of " + p.Source + "/" + p.Name, func(t *testing.T) {
			file := filepath.Join(f.repo, p.Key)
			flipInFile(t, file, pristine[file], p.StoredSize/2)
		}, exitCorrupt, []string{"nothing was restored", p.Source + "/" + p.Name}})
	}
	cases = append(cases,
		tamper{"bit flip in an index object", func(t *testing.T) {
			file := indexOf[firstRef.ID]
			flipInFile(t, file, pristine[file], int64(len(pristine[file])/2))
		}, exitCorrupt, []string{"nothing was restored", "its content does not match its name"}},
		// A pack holds chunks of several parts: whichever part is checked
		// first reports it (the ZooKeeper tree part is read for its
		// inspection before the other parts' stored bytes are re-hashed).
		tamper{"truncated pack", func(t *testing.T) {
			if err := os.WriteFile(packPath(firstRef), pristine[packPath(firstRef)][:len(pristine[packPath(firstRef)])/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"nothing was restored", "integrity check failed", "pack"}},
		tamper{"missing pack", func(t *testing.T) {
			if err := os.Remove(packPath(firstRef)); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"nothing was restored", "integrity check failed", "pack"}},
		tamper{"missing index object", func(t *testing.T) {
			if err := os.Remove(indexOf[firstRef.ID]); err != nil {
				t.Fatal(err)
			}
		}, exitCorrupt, []string{"nothing was restored", "no index names it"}},
		tamper{"wrong identity", func(t *testing.T) {
			otherKey := filepath.Join(t.TempDir(), "other.txt")
			f.run(t, "keygen", "--output", otherKey).expectOK(t)
			f.env = append(f.env, "ZUULSTATE_AGE_IDENTITY_FILE="+otherKey)
		}, exitUsage, []string{"nothing was restored", "not one of the recipients"}},
		tamper{"forged chunk list: names a chunk of another snapshot", func(t *testing.T) {
			forgedRefs := slices.Clone(refs[paths.Key])
			forgedRefs[0] = chunkstore.Ref{ID: foreign.ID, Length: foreign.RawSize}
			writeChunkRefs(t, f.repo, readManifest(t, f.repo, id), first["paths"], forgedRefs)
		}, exitCorrupt, []string{"nothing was restored", "paths/" + paths.Name, "adds up to"}},
		tamper{"forged manifest: a chunked part's raw size changed", func(t *testing.T) {
			mm := readManifest(t, f.repo, id)
			mm.Parts[first["zookeeper"]].RawSize ^= 1
			writeManifest(t, f.repo, mm)
		}, exitCorrupt, []string{"nothing was restored", "zookeeper/" + zk.Name, "adds up to"}},
	)
	// The index forgery: a chunk's entry points at a chunk of the other
	// snapshot, its stored checksum and sizes included, and the index
	// object is renamed by its new sum. Only the content's id check can
	// tell; each source's restorer must pass that verdict on.
	for i, p := range m.Parts {
		files := (p.Source == "volumes" || p.Source == "paths") && first[p.Source] == i
		table := p.Source == "mariadb" && strings.HasSuffix(p.Name, ".data")
		tree := p.Source == "zookeeper" && p.Name == "tree"
		if !files && !table && !tree {
			continue
		}
		name := "forged index: a chunk of " + p.Source + "/" + p.Name + " points at another snapshot's chunk"
		forged[name] = true
		cases = append(cases, tamper{name, func(t *testing.T) {
			i := slices.IndexFunc(refs[p.Key], func(r chunkstore.Ref) bool { return r.Offset+r.Length <= foreign.RawSize })
			if i < 0 {
				t.Fatalf("no slice of at most %d bytes in %s", foreign.RawSize, p.Key)
			}
			victim := refs[p.Key][i].ID
			file := indexOf[victim]
			es := slices.Clone(indexObjects(t, f.repo)[file])
			for j := range es {
				if es[j].ID == victim {
					es[j].Location = foreign.Location
				}
			}
			writeIndexObject(t, f.repo, file, es)
		}, exitCorrupt, []string{"nothing was restored", p.Source + "/" + p.Name}})
	}

	env := f.env
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restoreRepoExactly(t, f.repo, pristine)
			defer restoreRepoExactly(t, f.repo, pristine)
			defer func() { f.env = env }()
			c.apply(t)
			start := time.Now()
			args := []string{"restore", id, "--target", "dev"}
			if forged[c.name] {
				// The default check: refused before writing (the pack's
				// table) or stopped while writing (the chunk's id), naming
				// the part; whatever a restorer adds before it varies.
				defer f.wipeDev(t)
				r := f.run(t, args...)
				r.expectFail(t, c.code, c.says[len(c.says)-1])
				forgeryCaught(t, r)
				t.Logf("without --deep-verify: found (left: %v), in %s: %s", f.touched(t), time.Since(start).Round(time.Millisecond), lastLine(r.stderr))
				f.wipeDev(t)
				args = append(args, "--deep-verify")
				start = time.Now()
			}
			r := f.run(t, args...)
			r.expectFail(t, c.code, c.says...)
			if forged[c.name] {
				forgeryCaught(t, r)
			}
			f.nothingOnDev(t)
			t.Logf("rejected in %s: %s", time.Since(start).Round(time.Millisecond), lastLine(r.stderr))
			if !forged[c.name] && c.code == exitCorrupt {
				// verify --deep finds every damage the restore refused.
				f.run(t, "verify", id, "--deep").expectFail(t, exitCorrupt, "failed verification")
			}
		})
	}

	// The untouched snapshot still verifies and restores: the checks above
	// rejected the damage, not the snapshot.
	restoreRepoExactly(t, f.repo, pristine)
	f.run(t, "verify", id, "--deep").expectOK(t)
	f.run(t, "restore", id, "--target", "dev").expectOK(t)
	sameTree(t, f.data, filepath.Join(f.pathsDir, "conf"))
	f.run(t, "verify", "--all").expectOK(t)
}

// TestFlippedChunkByte is TestFlippedPartByte for format 3: a flipped byte
// in a pack passes the quick verify (sizes match), fails verify --deep and
// a restore, and the restore writes nothing.
func TestFlippedChunkByte(t *testing.T) {
	f := newFixture(t, "")
	f.run(t, "backup", "--quiet").expectOK(t)
	id := latestID(t, f)
	m := readManifest(t, f.repo, id)
	if m.Parts[0].Chunked == nil || !strings.HasSuffix(m.Parts[0].Key, ".chunks.zst") {
		t.Fatalf("the default did not write a chunked part: %+v", m.Parts[0])
	}
	refs := chunkRefs(t, f.repo, m.Parts[0])
	entries, _ := chunkLocations(t, f.repo)
	e := entries[refs[0].ID]
	pack := filepath.Join(f.repo, e.Pack)
	data, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	flipInFile(t, pack, data, e.Offset+int64(e.StoredSize)/2)
	f.run(t, "verify", id).expectOK(t) // sizes still match
	f.run(t, "verify", id, "--deep").expectFail(t, exitCorrupt, "paths/data", "stored bytes differ")
	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", id, "--paths-dir", target).expectFail(t, exitCorrupt, "nothing was restored", "paths/data")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("restore wrote into %s before failing (stat: %v)", target, err)
	}
}
