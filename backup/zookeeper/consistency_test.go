package zookeeper_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// Writes made while the tree is read are detected and reported: the walk
// is not a point-in-time snapshot, so the manifest says how much moved.
func TestWritesDuringWalk(t *testing.T) {
	srv := zktest.Server{Which: "prod"}
	chroot := srv.Chroot(t)
	c := srv.Connect(t, chroot)
	specs := []zktest.Spec{{Path: "/nodepool"}}
	for i := range 5000 {
		specs = append(specs, zktest.Spec{Path: fmt.Sprintf("/nodepool/n%05d", i), Data: []byte("v0")})
	}
	zktest.Build(t, c, specs)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // a busy Nodepool
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = c.Create(t.Context(), fmt.Sprintf("/nodepool/z%06d", i), nil, 0, zktest.Open)
			_, _ = c.Create(t.Context(), fmt.Sprintf("/nodepool/n%05d-lock", i%5000), nil, 0, zktest.Open)
		}
	})
	s := New(Config{Conn: srv.Config(t, chroot)})
	SetAfterFence(s, func() {
		// The last nodes in walk order are certainly read after this.
		if _, err := c.Create(t.Context(), "/nodepool/zz-after-fence", []byte("new"), 0, zktest.Open); err != nil {
			t.Error(err)
		}
	})
	sink := &zktest.Sink{Source: zktree.SourceName}
	err := s.Snapshot(t.Context(), sink)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	m := treeMeta(t, sink)
	if m.ChangedDuringWalk < 2 || m.ZxidAfter <= m.ZxidBefore || !strings.Contains(strings.Join(m.Warnings, "\n"), "changed during the walk") {
		t.Fatalf("changes not reported: changed %d, zxid %#x..%#x, warnings %q", m.ChangedDuringWalk, m.ZxidBefore, m.ZxidAfter, m.Warnings)
	}
	recs, _ := records(t, sink)
	if recs[len(recs)-1].Path != "/nodepool/zz-after-fence" {
		t.Fatalf("last record %s", recs[len(recs)-1].Path)
	}
	t.Logf("changed during walk: %d of %d nodes", m.ChangedDuringWalk, m.Nodes)
}

// Dropped connections in the middle of the walk are retried per node:
// the result is complete and the same as without them.
func TestConnectionLossDuringWalk(t *testing.T) {
	srv := zktest.Server{Which: "prod", TLS: true}
	chroot := srv.Chroot(t)
	c := srv.Connect(t, chroot)
	specs := []zktest.Spec{{Path: "/nodepool"}}
	for i := range 10000 {
		specs = append(specs, zktest.Spec{Path: fmt.Sprintf("/nodepool/d%02d/n%05d", i/1000, i), Data: []byte("payload")})
		if i%1000 == 0 {
			specs = append(specs[:len(specs)-1], zktest.Spec{Path: fmt.Sprintf("/nodepool/d%02d", i/1000)}, specs[len(specs)-1])
		}
	}
	zktest.Build(t, c, specs)
	want := zktest.Dump(t, c, "/nodepool")

	s := New(Config{Conn: srv.Config(t, chroot), Concurrency: 64})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sc *zkconn.Client
	SetOnConnect(s, func(c *zkconn.Client) { sc = c })
	SetAfterFence(s, func() {
		wg.Go(func() {
			for range 8 {
				select {
				case <-stop:
					return
				case <-time.After(40 * time.Millisecond):
					sc.Interrupt()
				}
			}
		})
	})
	sink := &zktest.Sink{Source: zktree.SourceName}
	err := s.Snapshot(t.Context(), sink)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := records(t, sink)
	var got []*zktree.Node
	for _, r := range recs {
		got = append(got, &zktree.Node{Path: r.Path, Data: r.Data, ACL: r.ACL, Stat: r.Stat})
	}
	if diff := zktest.Diff(want, zktest.Relative(got, "/nodepool")); len(diff) > 0 {
		t.Fatalf("walk with dropped connections differs:\n%s", strings.Join(diff, "\n"))
	}
	if m := treeMeta(t, sink); m.Retries == 0 {
		t.Fatalf("no call was retried; the test did not drop connections in time (meta %+v)", m)
	} else {
		t.Logf("%d calls retried", m.Retries)
	}
}
