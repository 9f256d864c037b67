package zookeeper_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	bzk "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	. "github.com/zuulstate/zuulstate/restore/zookeeper"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// TestTortureRoundTrip backs up the torture tree from prod and restores it
// into an empty dev, over plain TCP and over TLS with a client
// certificate, and compares both trees node by node, counters included.
func TestTortureRoundTrip(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls"}[tls]
		t.Run(name, func(t *testing.T) {
			prod, dev := zktest.Server{Which: "prod", TLS: tls}, zktest.Server{Which: "dev", TLS: tls}
			src := prod.Config(t, prod.Chroot(t))
			pc, _ := zkconnect(t, src)
			tt := zktest.BuildTorture(t, pc, 50000)
			want := zktest.Dump(t, pc, "/t")

			start := time.Now()
			sink := backupOf(t, bzk.Config{Conn: src, Include: []string{"/t"}, Containers: tt.Containers, TTLs: tt.TTLs})
			t.Logf("backup of %d nodes: %v", len(want), time.Since(start))

			dst := dev.Config(t, dev.Chroot(t))
			var rr restoreRun
			start = time.Now()
			if err := rr.do(t, Config{Conn: dst}, sink); err != nil {
				t.Fatalf("restore: %v\nlog:\n%s", err, rr.log.String())
			}
			t.Logf("restore of %d nodes: %v\n%s", len(want), time.Since(start), rr.out.String())
			dc, _ := zkconnect(t, dst)
			got := zktest.Dump(t, dc, "/t")
			if diff := zktest.Diff(want, got); len(diff) > 0 {
				t.Fatalf("restored tree differs:\n%s", strings.Join(diff, "\n"))
			}
			for _, e := range tt.Ephemeral {
				if zktest.Exists(t, dc, e) {
					t.Errorf("ephemeral %s was restored", e)
				}
			}
			// The next sequential child gets the number it gets on prod.
			a, err := pc.Create(t.Context(), "/t/seq/job-", nil, zk.FlagSequence, zktest.Open)
			if err != nil {
				t.Fatal(err)
			}
			b, err := dc.Create(t.Context(), "/t/seq/job-", nil, zk.FlagSequence, zktest.Open)
			if err != nil || a != b || a != "/t/seq/job-0000000011" {
				t.Fatalf("next sequential child: prod %s, dev %s (%v), want /t/seq/job-0000000011", a, b, err)
			}
			if !strings.Contains(rr.out.String(), "digest matches the snapshot") {
				t.Fatalf("summary: %s", rr.out.String())
			}
		})
	}
}

// Connections dropped while batches are in flight: each batch whose reply
// was lost is checked and sent again only if it was not applied, in order.
func TestConnectionLossDuringRestore(t *testing.T) {
	prod, dev := zktest.Server{Which: "prod"}, zktest.Server{Which: "dev"}
	src := prod.Config(t, prod.Chroot(t))
	pc, _ := zkconnect(t, src)
	specs := []zktest.Spec{{Path: "/nodepool"}}
	for d := range 20 {
		specs = append(specs, zktest.Spec{Path: fmt.Sprintf("/nodepool/d%02d", d)})
		for i := range 1000 {
			specs = append(specs, zktest.Spec{Path: fmt.Sprintf("/nodepool/d%02d/n%04d", d, i), Data: []byte("x")})
		}
	}
	zktest.Build(t, pc, specs)
	want := zktest.Dump(t, pc, "/nodepool")
	sink := backupOf(t, bzk.Config{Conn: src})

	dst := dev.Config(t, dev.Chroot(t))
	var rr restoreRun
	cfg := Config{Conn: dst, BatchOps: 200}
	cfg.Out, cfg.Log = &rr.out, slog.New(slog.NewTextHandler(&rr.log, nil))
	r := New(cfg)
	defer r.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	SetOnConnect(r, func(c, aux *zkconn.Client) {
		wg.Go(func() {
			for i := range 12 {
				select {
				case <-stop:
					return
				case <-time.After(60 * time.Millisecond):
					if i%2 == 0 {
						c.Interrupt()
					} else {
						aux.Interrupt()
					}
				}
			}
		})
	})
	err := r.Restore(t.Context(), sink.Parts(), sink.Open)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, rr.log.String())
	}
	dc, _ := zkconnect(t, dst)
	if diff := zktest.Diff(want, zktest.Dump(t, dc, "/nodepool")); len(diff) > 0 {
		t.Fatalf("restored tree differs:\n%s", strings.Join(diff, "\n"))
	}
	for _, l := range strings.Split(rr.log.String(), "\n") {
		if strings.Contains(l, "nodes written") {
			t.Log(l)
		}
	}
}
