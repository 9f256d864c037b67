package zookeeper

import "github.com/zuulstate/zuulstate/source/zookeeper/zkconn"

// SetOnConnect hands r's clients to f once both are connected.
func SetOnConnect(r *Restorer, f func(c, aux *zkconn.Client)) { r.onConnect = f }

// ACLMatch is aclMatch.
var ACLMatch = aclMatch
