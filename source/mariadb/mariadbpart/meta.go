// Package mariadbpart is what both directions of the mariadb source share
// about its parts: their names and the manifest metadata of each kind of
// part. docs/MARIADB.md describes them; the SQL inside is sqlstream's.
package mariadbpart

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
)

// SourceName is the source name recorded in manifests.
const SourceName = "mariadb"

// Lock modes recorded in DatabaseMeta.LockMode.
const (
	LockBackupStage       = "backup_stage"
	LockFTWRL             = "ftwrl"
	LockSingleTransaction = "single_transaction"
)

// DatabaseMeta is the manifest metadata of a D.schema part.
type DatabaseMeta struct {
	Database       string      `json:"database"`
	ServerVersion  string      `json:"server_version"`
	AlembicVersion string      `json:"alembic_version,omitempty"`
	LockMode       string      `json:"lock_mode"`
	Binlog         *BinlogPos  `json:"binlog,omitempty"`
	Tables         []TableMeta `json:"tables"`
	Sequences      []string    `json:"sequences,omitempty"`
	// NonTransactional lists tables whose engine is not transactional
	// (MyISAM, Aria, …); NonTransactionalLocked says whether they were held
	// under LOCK TABLES … READ for the dump (otherwise they may be
	// inconsistent with the rest).
	NonTransactional       []string `json:"non_transactional,omitempty"`
	NonTransactionalLocked bool     `json:"non_transactional_locked,omitempty"`
	Warnings               []string `json:"warnings,omitempty"`
}

// TableMeta describes one base table of a DatabaseMeta.
type TableMeta struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	// Rows is the exact number of rows dumped (counted inside the snapshot;
	// for a system-versioned table with History, history rows included).
	Rows int64 `json:"rows"`
	// Parts are the table's data part names in order.
	Parts           []string `json:"parts"`
	SystemVersioned bool     `json:"system_versioned,omitempty"`
	History         bool     `json:"history,omitempty"`
}

// BinlogPos is the binary log position of the snapshot.
type BinlogPos struct {
	File     string `json:"file"`
	Position uint64 `json:"position"`
	GTID     string `json:"gtid,omitempty"`
}

// DataMeta is the manifest metadata of a D.T.data[.N] part.
type DataMeta struct {
	Database string   `json:"database"`
	Table    string   `json:"table"`
	Columns  []string `json:"columns"`
	// Chunk is this part's index (0 for D.T.data) of Chunks parts; From
	// and To bound the primary key range [From, To) when split ("" = open).
	Chunk   int    `json:"chunk"`
	Chunks  int    `json:"chunks"`
	Key     string `json:"key,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Rows    int64  `json:"rows"`
	History bool   `json:"history,omitempty"`
}

// PostMeta is the manifest metadata of a D.post part, listing the objects
// in the order they are created.
type PostMeta struct {
	Database      string   `json:"database"`
	Procedures    []string `json:"procedures,omitempty"`
	Functions     []string `json:"functions,omitempty"`
	Packages      []string `json:"packages,omitempty"`
	PackageBodies []string `json:"package_bodies,omitempty"`
	Views         []string `json:"views,omitempty"`
	Triggers      []string `json:"triggers,omitempty"`
	Events        []string `json:"events,omitempty"`
}

// GrantsMeta is the manifest metadata of the grants part: the roles and
// the users (user@host) it creates, and SHOW GRANTS lines left out.
type GrantsMeta struct {
	Roles   []string `json:"roles,omitempty"`
	Users   []string `json:"users"`
	Skipped []string `json:"skipped,omitempty"`
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// NameComponent is how a database or table name appears in a part name:
// unchanged when it matches [A-Za-z0-9][A-Za-z0-9_-]*, else "x" + the hex
// of its UTF-8 bytes.
func NameComponent(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	return "x" + hex.EncodeToString([]byte(name))
}

// DataPartName is the part name of chunk i of table t in database db:
// D.T.data for chunk 0, D.T.data.i after it.
func DataPartName(db, t string, i int) string {
	n := NameComponent(db) + "." + NameComponent(t) + ".data"
	if i > 0 {
		n += "." + strconv.Itoa(i)
	}
	return limitName(n)
}

// SchemaPartName is D.schema; PostPartName is D.post.
func SchemaPartName(db string) string { return limitName(NameComponent(db) + ".schema") }

// PostPartName is D.post.
func PostPartName(db string) string { return limitName(NameComponent(db) + ".post") }

// GrantsPartName is the part holding users and grants.
const GrantsPartName = "grants"

// limitName keeps a name within 128 bytes: a longer one keeps its first
// 100 bytes, then "-" and 16 hex digits of its SHA-256.
func limitName(n string) string {
	if len(n) <= 128 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return n[:100] + "-" + hex.EncodeToString(sum[:8])
}
