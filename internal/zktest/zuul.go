package zktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// ZuulShape sizes a Zuul-shaped tree.
type ZuulShape struct {
	Projects      int // under /keystorage/<conn>/<org>/<project>, 50 per org
	NodepoolNodes int // /nodepool/nodes/<seq> with a lock child each
	Requests      int // /nodepool/requests/<prio>-<seq>
	ZuulNodes     int // runtime nodes under /zuul
	Images        int // builds under /nodepool/images, 3 uploads each
}

// ZuulTree returns the nodes of a tree shaped like a Zuul deployment's
// (DESIGN.md section 3): project secrets and SSH keys as Zuul stores them
// (sorted-key JSON with an encrypted PEM), OIDC signing keys, the system
// id, Nodepool's nodes, requests and image records, and runtime state
// under /zuul. Data is deterministic for a given shape.
func ZuulTree(s ZuulShape) []Spec {
	rng := rand.New(rand.NewPCG(uint64(s.Projects), uint64(s.NodepoolNodes)))
	pem := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" + base64.StdEncoding.EncodeToString(b) + "\n-----END RSA PRIVATE KEY-----\n"
	}
	key := func(n int) []byte {
		js, _ := json.Marshal(map[string]any{"keys": []map[string]any{{"created": 1700000000 + rng.IntN(1e7), "private_key": pem(n), "version": 0}}, "schema": 1})
		return pythonSeparators(js)
	}
	blob := func(n int) []byte {
		b, _ := json.Marshal(map[string]any{"state": "ready", "provider": "cloud-1", "pad": base64.StdEncoding.EncodeToString(make([]byte, n))})
		return b
	}
	out := []Spec{{Path: "/keystorage"}, {Path: "/keystorage-oidc"}, {Path: "/keystorage-oidc/RS256", Data: key(160)},
		{Path: "/zuul-system"}, {Path: "/zuul-system/system_id", Data: []byte("9e1b2c3d4e5f60718293a4b5c6d7e8f9")},
		{Path: "/nodepool"}, {Path: "/nodepool/nodes"}, {Path: "/nodepool/requests"}, {Path: "/nodepool/images"},
		{Path: "/zuul"}, {Path: "/zuul/components"}, {Path: "/zuul/tenant"}}
	conns := []string{"gerrit", "github"}
	for _, c := range conns {
		out = append(out, Spec{Path: "/keystorage/" + c})
	}
	for p := range s.Projects {
		conn := conns[p%2]
		org := fmt.Sprintf("/keystorage/%s/org%04d", conn, p/100)
		if p%100 < 2 {
			out = append(out, Spec{Path: org})
		}
		proj := fmt.Sprintf("%s/project-%06d", org, p)
		out = append(out, Spec{Path: proj}, Spec{Path: proj + "/secrets", Data: key(200)}, Spec{Path: proj + "/ssh", Data: key(200)})
	}
	for i := range s.NodepoolNodes {
		n := fmt.Sprintf("/nodepool/nodes/%010d", i)
		out = append(out, Spec{Path: n, Data: blob(360)}, Spec{Path: n + "/lock"})
	}
	for i := range s.Requests {
		out = append(out, Spec{Path: fmt.Sprintf("/nodepool/requests/100-%010d", i), Data: blob(250)})
	}
	for i := range s.Images {
		b := fmt.Sprintf("/nodepool/images/ubuntu-%04d", i)
		out = append(out, Spec{Path: b, Data: blob(200)})
		for u := range 3 {
			out = append(out, Spec{Path: fmt.Sprintf("%s/upload-%d", b, u), Data: blob(250)})
		}
	}
	for i := range s.ZuulNodes {
		if i%1000 == 0 {
			out = append(out, Spec{Path: fmt.Sprintf("/zuul/tenant/t%03d", i/1000)})
		}
		out = append(out, Spec{Path: fmt.Sprintf("/zuul/tenant/t%03d/pipeline-%06d", i/1000, i), Data: blob(250)})
	}
	return out
}

// pythonSeparators turns compact JSON into what Python's json.dumps
// writes by default (", " and ": "); fine for data without those bytes in
// strings.
func pythonSeparators(b []byte) []byte {
	var out []byte
	inStr, esc := false, false
	for _, c := range b {
		out = append(out, c)
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return out
}
