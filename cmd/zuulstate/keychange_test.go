package main

import (
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// A change of encryption.recipients in a format 3 repository: the next
// backup stores its chunks anew, sealed to the new recipients, instead of
// reusing chunks only the old identity opens. Each snapshot then verifies
// deeply and restores with its own identity alone, and the parent cache of
// the old recipients is not used (the first backup after the change reads
// every file).
func TestRecipientChange(t *testing.T) {
	f := newFixture(t, "")
	keys := map[string]*age.X25519Identity{}
	for _, name := range []string{"old", "new"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = id
		if err := os.WriteFile(filepath.Join(f.dir, name+".key"), []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	useKey := func(name string) {
		f.writeConfig(t, "repository:\n  local:\n    path: "+f.repo+"\n  encryption:\n    recipients: ["+keys[name].Recipient().String()+
			"]\n    identity_file: "+filepath.Join(f.dir, name+".key")+"\nsources:\n  paths:\n    - name: data\n      path: "+f.data+"\n")
	}

	useKey("old")
	f.run(t, "backup", "--quiet").expectOK(t)
	before := latestID(t, f)
	f.run(t, "backup", "--quiet").expectOK(t)
	if c := readManifest(t, f.repo, latestID(t, f)).Parts[0].Chunked; c == nil || c.ReusedFiles == 0 {
		t.Fatalf("an unchanged tree under the same key: %+v", c)
	}

	useKey("new")
	f.run(t, "backup", "--quiet").expectOK(t)
	after := latestID(t, f)
	m := readManifest(t, f.repo, after)
	// Every chunk it references is new: none sealed to the old key.
	if c := m.Parts[0].Chunked; c == nil || c.NewChunks < c.Refs || c.ReusedFiles != 0 {
		t.Fatalf("the first backup under new recipients reused old chunks or the old parent cache: %+v", c)
	}
	f.run(t, "verify", after, "--deep").expectOK(t)
	f.run(t, "verify", before, "--deep").expectFail(t, exitUsage, "not one of the recipients")
	useKey("old")
	f.run(t, "verify", before, "--deep").expectOK(t)
}
