package demo

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"

	"github.com/go-zookeeper/zk"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Node is one znode of the demo tree.
type Node struct {
	Path string
	Data []byte
	ACL  []zk.ACL // nil: world:anyone:cdrwa, as Zuul creates them
}

// ZooKeeperTree returns the prod tree (paths relative to the chroot), in
// creation order: what Zuul and Nodepool keep in ZooKeeper (DESIGN.md
// section 3). Project keys are JSON with an encrypted PEM, as Zuul's
// KeyStorage writes them; runtime state under /zuul is zlib-compressed, as
// Zuul's sharded writer stores it.
func ZooKeeperTree() []Node {
	r := rand.New(rand.NewPCG(1, 2))
	pemKey := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\n" +
			base64.StdEncoding.EncodeToString(b) + "\n-----END RSA PRIVATE KEY-----\n"
	}
	keyJSON := func(n int) []byte {
		b, _ := json.Marshal(map[string]any{"schema": 1, "keys": []map[string]any{
			{"version": 0, "created": 1700000000 + r.IntN(1e7), "private_key": pemKey(n)}}})
		return b
	}
	jsonOf := func(v any) []byte { b, _ := json.Marshal(v); return b }
	zipped := func(v any) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		_, _ = w.Write(jsonOf(v))
		_ = w.Close()
		return buf.Bytes()
	}
	out := []Node{{Path: "/keystorage"}, {Path: "/keystorage/gerrit"}}
	for _, org := range []string{"demo", "opendev", "openstack"} {
		out = append(out, Node{Path: "/keystorage/gerrit/" + org})
		for p := range 8 {
			proj := fmt.Sprintf("/keystorage/gerrit/%s/%s%%2Fproject-%02d", org, org, p)
			out = append(out, Node{Path: proj}, Node{Path: proj + "/secrets", Data: keyJSON(1200)},
				Node{Path: proj + "/ssh", Data: keyJSON(1600)})
		}
	}
	readOnly := []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}}
	out = append(out, Node{Path: "/keystorage-oidc"}, Node{Path: "/keystorage-oidc/RS256", Data: keyJSON(1200), ACL: readOnly},
		Node{Path: "/zuul-system"}, Node{Path: "/zuul-system/system_id", Data: []byte(fmt.Sprintf("%032x", r.Uint64()))},
		Node{Path: "/nodepool"}, Node{Path: "/nodepool/nodes"}, Node{Path: "/nodepool/requests"},
		Node{Path: "/nodepool/images"}, Node{Path: "/nodepool/images/ubuntu-jammy"}, Node{Path: "/nodepool/images/ubuntu-jammy/builds"})
	for i := range 12 {
		n := fmt.Sprintf("/nodepool/nodes/%010d", i)
		out = append(out, Node{Path: n, Data: jsonOf(map[string]any{"state": "in-use", "provider": "cloud-1",
			"label": "ubuntu-jammy", "external_id": fmt.Sprintf("%08x", r.Uint32()), "interface_ip": "203.0.113.10"})},
			Node{Path: n + "/lock"})
	}
	for i := range 4 {
		out = append(out, Node{Path: fmt.Sprintf("/nodepool/requests/100-%010d", i),
			Data: jsonOf(map[string]any{"state": "requested", "node_types": []string{"ubuntu-jammy"}})})
		b := fmt.Sprintf("/nodepool/images/ubuntu-jammy/builds/%010d", i)
		out = append(out, Node{Path: b, Data: jsonOf(map[string]any{"state": "ready", "builder": "nb01"})})
	}
	out = append(out, Node{Path: "/zuul"}, Node{Path: "/zuul/components"}, Node{Path: "/zuul/components/scheduler"},
		Node{Path: "/zuul/components/scheduler/zs01-0000000000", Data: jsonOf(map[string]any{"state": "running", "hostname": "zs01"})},
		Node{Path: "/zuul/tenant"}, Node{Path: "/zuul/tenant/demo"}, Node{Path: "/zuul/tenant/demo/pipeline"})
	for _, p := range []string{"check", "gate", "post", "periodic"} {
		out = append(out, Node{Path: "/zuul/tenant/demo/pipeline/" + p, Data: zipped(map[string]any{"state": "ok", "queues": []string{}})})
	}
	return out
}

// SeedZooKeeper deletes root (a chroot on the server) with everything
// below it on prod and dev, creates it empty on both, and builds the tree
// under root on prod.
func SeedZooKeeper(ctx context.Context, prod, dev *zkconn.Client, root string) error {
	for _, c := range []*zkconn.Client{prod, dev} {
		if err := DeleteTree(ctx, c, root); err != nil {
			return fmt.Errorf("zookeeper %s: %w", c, err)
		}
		if _, err := c.Create(ctx, root, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			return fmt.Errorf("zookeeper %s: create %s: %w", c, root, err)
		}
	}
	var ops []any
	for _, n := range ZooKeeperTree() {
		acl := n.ACL
		if acl == nil {
			acl = zk.WorldACL(zk.PermAll)
		}
		ops = append(ops, &zk.CreateRequest{Path: path.Join(root, n.Path), Data: n.Data, Acl: acl})
	}
	// Small enough for a few multis (each under jute.maxbuffer).
	for len(ops) > 0 {
		n := min(len(ops), 100)
		if res, err := prod.Multi(ctx, -1, ops[:n]); err != nil {
			return fmt.Errorf("zookeeper %s: %w", prod, zkconn.MultiError(ops[:n], res, err))
		}
		ops = ops[n:]
	}
	// Nodepool's node ids come from the sequence counter of /nodepool/nodes:
	// advance it past the ids above, as the nodes that came and went did.
	for range 20 {
		p, err := prod.Create(ctx, path.Join(root, "/nodepool/nodes/"), nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			return fmt.Errorf("zookeeper %s: %w", prod, err)
		}
		if err := prod.Delete(ctx, p); err != nil {
			return fmt.Errorf("zookeeper %s: %w", prod, err)
		}
	}
	return nil
}

// DeleteTree deletes p and everything below it; a missing p is fine.
func DeleteTree(ctx context.Context, c *zkconn.Client, p string) error {
	var paths []string
	_, err := zktree.Walk(ctx, c, p, zktree.WalkOptions{KeepEphemeral: true}, func(n *zktree.Node) error {
		paths = append(paths, n.Path)
		return nil
	})
	if errors.Is(err, zktree.ErrNoRoot) {
		return nil
	}
	if err != nil {
		return err
	}
	slices.Reverse(paths) // children first
	for len(paths) > 0 {
		n := min(len(paths), 500)
		ops := make([]any, n)
		for i, q := range paths[:n] {
			ops[i] = &zk.DeleteRequest{Path: q, Version: -1}
		}
		if res, err := c.Multi(ctx, -1, ops); err != nil {
			return zkconn.MultiError(ops, res, err)
		}
		paths = paths[n:]
	}
	return nil
}
