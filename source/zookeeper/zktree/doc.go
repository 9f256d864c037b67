// Package zktree is what both directions of the zookeeper source share
// about a ZooKeeper tree: the record format of the tree part (encoder and
// decoder side by side), the manifest metadata of its parts, path order and
// selection of subtrees, and the ordered, pipelined walk that the backup
// reads the tree with and the restore reads it back with. docs/ZOOKEEPER.md
// describes the format.
package zktree
