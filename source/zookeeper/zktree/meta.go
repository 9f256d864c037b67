package zktree

// SourceName is the source name recorded in manifests.
const SourceName = "zookeeper"

// Part names of the zookeeper source.
const (
	TreePart = "tree" // every selected node, in the record format
	KeysPart = "keys" // zuul-admin export-keys JSON of /keystorage
)

// TreeMeta is the manifest metadata of the tree part.
type TreeMeta struct {
	Format        int        `json:"format"`
	Profile       string     `json:"profile"`
	Servers       []string   `json:"servers"`
	Chroot        string     `json:"chroot,omitempty"`
	ServerVersion string     `json:"server_version,omitempty"`
	Roots         []RootMeta `json:"roots"`
	Exclude       []string   `json:"exclude,omitempty"`
	Nodes         int64      `json:"nodes"`
	DataBytes     int64      `json:"data_bytes"`
	Containers    int64      `json:"containers,omitempty"`
	TTLNodes      int64      `json:"ttl_nodes,omitempty"`
	// Ephemeral nodes are counted and left out.
	EphemeralSkipped int64 `json:"ephemeral_skipped"`
	// The walk is not a point-in-time snapshot: ZxidBefore and ZxidAfter
	// are the server's last applied transaction when it started and
	// ended (equal: nothing at all changed meanwhile). ChangedDuringWalk
	// counts recorded nodes created, modified or given new children after
	// ZxidBefore; VanishedDuringWalk nodes listed by their parent but
	// deleted before they were read.
	ZxidBefore         int64 `json:"zxid_before"`
	ZxidAfter          int64 `json:"zxid_after"`
	ChangedDuringWalk  int64 `json:"changed_during_walk"`
	VanishedDuringWalk int64 `json:"vanished_during_walk"`
	// Reread counts nodes read again because their stat moved between
	// the requests that read them.
	Reread             int64    `json:"reread,omitempty"`
	MaskedACLsReplaced int64    `json:"masked_acls_replaced,omitempty"`
	Retries            int64    `json:"retries,omitempty"`
	Warnings           []string `json:"warnings,omitempty"`
}

// RootMeta describes one selected subtree.
type RootMeta struct {
	Path    string `json:"path"`
	Missing bool   `json:"missing,omitempty"` // did not exist at backup time
	Nodes   int64  `json:"nodes"`
	// SHA256 is the digest of AppendIdentity of every node of the subtree
	// in order (path, data, ACL), which the restore recomputes.
	SHA256 string `json:"sha256"`
	// Containers and TTL count the declared nodes of those kinds.
	Containers int64 `json:"containers,omitempty"`
	TTL        int64 `json:"ttl,omitempty"`
}

// KeysMeta is the manifest metadata of the keys part.
type KeysMeta struct {
	Format string `json:"format"` // "zuul-admin export-keys"
	Keys   int64  `json:"keys"`
	// Skipped lists leaves under /keystorage whose data is not JSON, which
	// zuul-admin export-keys leaves out the same way.
	Skipped []string `json:"skipped,omitempty"`
}
