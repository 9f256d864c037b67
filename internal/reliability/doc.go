// Package reliability holds the crash-consistency and fault-injection tests
// of issue 7: they run the built zuulstate binary with every source
// configured against the real services (and private MinIO, ZooKeeper and
// Docker instances where a test must stop or restart one), kill it or break
// what it talks to, and check what an operator relies on afterwards. The
// guarantees and the figures of the last run are in docs/RELIABILITY.md.
// The package has no code outside its tests.
package reliability
