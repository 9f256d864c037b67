package zookeeper_test

import (
	"testing"

	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

func zkconnect(t *testing.T, cfg zkconn.Config) (*zkconn.Client, zkconn.Config) {
	t.Helper()
	c, err := zkconn.Connect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, cfg
}
