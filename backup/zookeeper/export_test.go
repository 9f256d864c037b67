package zookeeper

import "github.com/zuulstate/zuulstate/source/zookeeper/zkconn"

// SetAfterFence makes s run f right after it read the first zxid fence.
func SetAfterFence(s *Snapshotter, f func()) { s.afterFence = f }

// SetOnConnect hands s's client to f once connected.
func SetOnConnect(s *Snapshotter, f func(*zkconn.Client)) { s.onConnect = f }
