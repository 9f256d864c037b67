package job

import (
	"slices"
	"strings"
	"testing"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/snapshot"
)

func TestSources(t *testing.T) {
	if got := strings.Join(SourceNames(), ","); got != "volumes,paths,mariadb,zookeeper" {
		t.Errorf("restore order %s", got)
	}
	seen := map[string]bool{}
	for _, d := range Sources {
		if seen[d.Name] || d.Snapshotter == nil || d.Restorer == nil || d.Section != "sources."+d.Name {
			t.Errorf("descriptor %+v: names must be unique, both sides built, the section named after it", d)
		}
		seen[d.Name] = true
	}
	cfg := &config.Config{Sources: config.Sources{Volumes: &config.VolumesSource{Containers: []config.ContainerItem{{Name: "zuul_mariadb", Stop: true}}}}}
	if got := runAlone(cfg); !slices.Equal(got, []string{"volumes"}) {
		t.Errorf("a cold copy runs alone: %v", got)
	}
}

// TestNextSteps: steps come in their order whatever the sources' order,
// once each, with the dev instance's after the database's.
func TestNextSteps(t *testing.T) {
	parts := []snapshot.Part{{Source: "zookeeper", Name: "keys"}, {Source: "paths", Name: "certs"}, {Source: "mariadb", Name: "zuul.schema"},
		{Source: "zookeeper", Name: "tree"}, {Source: "volumes", Name: "log_server"}}
	s := &restoreSetup{profile: config.ProfileDev}
	steps := s.nextSteps(parts)
	var starts []string
	for _, l := range steps {
		starts = append(starts, strings.Join(strings.Fields(l)[:2], " "))
	}
	want := "Zuul's [keystore],Check that,Start one,This is,Of ZooKeeper,The zookeeper/keys"
	if got := strings.Join(starts, ","); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	// Without ZooKeeper parts, the dev step about its subtrees is left out.
	if steps := s.nextSteps(parts[1:3]); strings.Contains(strings.Join(steps, "\n"), "Of ZooKeeper") {
		t.Errorf("ZooKeeper step without ZooKeeper parts: %q", steps)
	}
}
