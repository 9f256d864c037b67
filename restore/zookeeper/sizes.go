package zookeeper

import "github.com/go-zookeeper/zk"

// Request sizes in ZooKeeper's jute encoding. The server drops the
// connection, without an error code, on a request frame longer than its
// jute.maxbuffer, so every batch is measured before it is sent.
const (
	requestHeader = 8 // xid, opcode
	multiHeader   = 9 // op type, done flag, error code
	// multiOverhead is a multi request's size besides its operations.
	multiOverhead = requestHeader + multiHeader
)

func bufSize(b []byte) int { return 4 + len(b) } // null is a length of -1

func aclSize(acl []zk.ACL) int {
	n := 4
	for _, a := range acl {
		n += 4 + 4 + len(a.Scheme) + 4 + len(a.ID)
	}
	return n
}

// createOpSize is the size of a create operation inside a multi.
func createOpSize(path string, data []byte, acl []zk.ACL) int {
	return multiHeader + 4 + len(path) + bufSize(data) + aclSize(acl) + 4
}

// deleteOpSize is the size of a delete operation inside a multi.
func deleteOpSize(path string) int { return multiHeader + 4 + len(path) + 4 }

// singleCreateSize is a container or TTL create request on its own.
func singleCreateSize(path string, data []byte, acl []zk.ACL) int {
	return requestHeader + 4 + len(path) + bufSize(data) + aclSize(acl) + 4 + 8
}
