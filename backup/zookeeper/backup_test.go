package zookeeper_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/zuulstate/zuulstate/backup/zookeeper"
	"github.com/zuulstate/zuulstate/internal/zktest"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

func TestTortureBackup(t *testing.T) {
	for _, srv := range []zktest.Server{{Which: "prod"}, {Which: "prod", TLS: true}} {
		name := "plain"
		if srv.TLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			chroot := srv.Chroot(t)
			cfg := srv.Config(t, chroot)
			c, err := zkconn.Connect(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt := zktest.BuildTorture(t, c, 20000)
			want := zktest.Dump(t, c, "/t")

			sink := &zktest.Sink{Source: zktree.SourceName}
			s := New(Config{Conn: cfg, Profile: zktree.ProfileZuul, Include: []string{"/t"}, Containers: tt.Containers, TTLs: tt.TTLs})
			start := time.Now()
			if err := s.Snapshot(t.Context(), sink); err != nil {
				t.Fatal(err)
			}
			t.Logf("backup of %d nodes took %v", len(want), time.Since(start))
			recs, d := records(t, sink)
			var got []*zktree.Node
			for _, r := range recs {
				got = append(got, &zktree.Node{Path: r.Path, Data: r.Data, ACL: r.ACL, Stat: r.Stat})
				switch {
				case r.Path == "/t/cont" && r.Kind != zktree.KindContainer, r.Path == "/t/ttl" && (r.Kind != zktree.KindTTL || r.TTL != time.Hour):
					t.Errorf("%s: kind %d ttl %v", r.Path, r.Kind, r.TTL)
				case tt.IsEphemeral(r.Path):
					t.Errorf("ephemeral %s recorded", r.Path)
				}
			}
			if diff := zktest.Diff(want, zktest.Relative(got, "/t")); len(diff) > 0 {
				t.Fatalf("records differ from the tree:\n%s", strings.Join(diff, "\n"))
			}
			m := treeMeta(t, sink)
			if m.Nodes != int64(len(want)) || m.EphemeralSkipped != int64(len(tt.Ephemeral)) || d.Trailer.Nodes != m.Nodes {
				t.Fatalf("meta: nodes %d (want %d), ephemeral %d (want %d), trailer %d", m.Nodes, len(want), m.EphemeralSkipped, len(tt.Ephemeral), d.Trailer.Nodes)
			}
			if m.ZxidBefore == 0 || m.ZxidAfter < m.ZxidBefore || m.ChangedDuringWalk != 0 {
				t.Fatalf("fence: %+v", m)
			}
			i := slices.IndexFunc(recs, func(r *zktree.Record) bool { return r.Path == "/t/seq" })
			if recs[i].Seq != 11 || !bytes.Equal(recs[slices.IndexFunc(recs, func(r *zktree.Record) bool { return r.Path == "/t/nil" })].Data, nil) {
				t.Fatalf("/t/seq counter %d, want 11", recs[i].Seq)
			}
		})
	}
}
