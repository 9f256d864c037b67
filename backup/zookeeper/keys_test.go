package zookeeper_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	. "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// exportKeys is zuul-admin export-keys (zuul/lib/keystorage.py exportKeys
// and zuul/cmd/client.py export_keys) reduced to its JSON handling: every
// leaf under /keystorage, in the order given, parsed with json.loads (and
// left out when that fails), written with json.dump.
const exportKeys = `
import base64, json, sys
pairs = json.load(sys.stdin)
keys = {}
for path, data in pairs:
    try:
        keys[path] = json.loads(base64.b64decode(data) if data is not None else None)
    except Exception:
        pass
json.dump({'keys': keys}, sys.stdout)
`

func TestKeysPartMatchesZuulAdmin(t *testing.T) {
	srv := zktest.Server{Which: "prod"}
	chroot := srv.Chroot(t)
	c := srv.Connect(t, chroot)
	specs := zktest.ZuulTree(zktest.ZuulShape{Projects: 60, NodepoolNodes: 5})
	odd := map[string]string{
		"unicode": `{"name": "Zürich ☃ 𝄞 \u2028 \"q\" \\ \u007f \t", "arr": [], "obj": {}, "t": true, "n": null}`,
		"numbers": `{"f": 1.5e-7, "big": 123456789012345678901234567890, "neg0": -0, "inf": 1E400, "x": [0.1, 1e16, 1e15, 123.0, -0.0, 5e-324, 1.7976931348623157e308, 1E-4, 1e-5]}`,
		"dup":     `{"a": 1, "b": 2, "a": 3}`,
		"bom":     "\xef\xbb\xbf{\"k\": 1}",
		"space":   " \n {\"k\" :1 } \n",
		"notjson": "hello",
		"empty":   "",
	}
	specs = append(specs, zktest.Spec{Path: "/keystorage/odd"})
	for name, data := range odd {
		specs = append(specs, zktest.Spec{Path: "/keystorage/odd/" + name, Data: []byte(data)})
	}
	specs = append(specs, zktest.Spec{Path: "/keystorage/odd/null"})
	zktest.Build(t, c, specs)

	sink := &zktest.Sink{Source: zktree.SourceName}
	if err := New(Config{Conn: srv.Config(t, chroot)}).Snapshot(t.Context(), sink); err != nil {
		t.Fatal(err)
	}
	kp, got := sink.Part(zktree.KeysPart)
	var meta zktree.KeysMeta
	if err := json.Unmarshal(kp.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Keys != 2*60+5 || !slices.Equal(meta.Skipped, []string{"/keystorage/odd/empty", "/keystorage/odd/notjson", "/keystorage/odd/null"}) {
		t.Fatalf("keys meta: %+v", meta)
	}
	if !bytes.HasPrefix(got, []byte(`{"keys": {"/keystorage/gerrit/org0000/project-000000/secrets": {"keys": [{"created": `)) {
		t.Fatalf("keys part starts %.120s", got)
	}

	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: the byte-for-byte comparison with zuul-admin's json.dump is skipped")
	}
	var pairs [][2]*string
	recs, _ := records(t, sink)
	for _, r := range recs {
		if strings.HasPrefix(r.Path, "/keystorage/") && r.Stat.NumChildren == 0 {
			p := r.Path
			var d *string
			if r.Data != nil {
				s := base64.StdEncoding.EncodeToString(r.Data)
				d = &s
			}
			pairs = append(pairs, [2]*string{&p, d})
		}
	}
	in, _ := json.Marshal(pairs)
	cmd := exec.CommandContext(t.Context(), python, "-c", exportKeys)
	cmd.Stdin = bytes.NewReader(in)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("keys part differs from zuul-admin export-keys at byte %d:\nours:   %.120q\nzuul's: %.120q", i, got[i:], want[i:])
	}

	// import-keys writes json.dumps(data, sort_keys=True): Zuul's own keys
	// come back byte for byte.
	cmd = exec.CommandContext(t.Context(), python, "-c", importKeys)
	cmd.Stdin = bytes.NewReader(got)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var imported map[string]string
	if err := json.Unmarshal(out, &imported); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range specs {
		if strings.HasSuffix(s.Path, "/secrets") || strings.HasSuffix(s.Path, "/ssh") {
			if imported[s.Path] != string(s.Data) {
				t.Fatalf("import-keys would write %s as %.80q, want %.80q", s.Path, imported[s.Path], s.Data)
			}
			n++
		}
	}
	if n != 120 {
		t.Fatalf("checked %d keys", n)
	}
}

// importKeys is what zuul-admin import-keys stores for each key.
const importKeys = `
import json, sys
data = json.load(sys.stdin)
json.dump({p: json.dumps(v, sort_keys=True) for p, v in data['keys'].items()}, sys.stdout)
`
