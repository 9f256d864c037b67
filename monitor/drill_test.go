package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDrillStatusCarriesLastSuccess(t *testing.T) {
	repo, _ := newRepo(t)
	now := time.Now().UTC()
	ok := &DrillStatus{Target: "drill", Started: now.Add(-time.Minute), Finished: now, Result: ResultSuccess, SnapshotID: "20260101T000000Z-00000000",
		Checks: []DrillCheck{{Source: "mariadb", Part: "zuul", What: "rows", Expected: 3, Found: 3}}}
	if err := WriteDrillStatus(t.Context(), repo.Store(), ok); err != nil {
		t.Fatal(err)
	}
	failed := &DrillStatus{Target: "drill", Started: now, Finished: now.Add(time.Minute), Result: ResultFailure, Error: "drill failed: x",
		Checks: []DrillCheck{{Source: "mariadb", Part: "zuul", What: "rows", Expected: 3, Found: 2}}}
	if err := WriteDrillStatus(t.Context(), repo.Store(), failed); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDrillStatus(t.Context(), repo.Store())
	if err != nil || got.Succeeded() || !got.LastSuccess.Equal(now) || got.LastSuccessSnapshotID != ok.SnapshotID {
		t.Fatalf("read back %+v, %v", got, err)
	}
	// A drill's metrics never share a file or a push group with a backup's.
	path := filepath.Join(t.TempDir(), "zuulstate.prom")
	if DrillTextfile(path) != strings.TrimSuffix(path, ".prom")+"_drill.prom" {
		t.Fatalf("drill textfile %s", DrillTextfile(path))
	}
	if err := WriteTextfile(DrillTextfile(path), DrillRegistry(got)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(DrillTextfile(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"zuulstate_drill_last_success 0", "zuulstate_drill_mismatches 1", "zuulstate_drill_checks 1",
		"zuulstate_drill_last_success_timestamp_seconds ", "zuulstate_drill_duration_seconds 60"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "zuulstate_backup_") || strings.Contains(string(data), "build_info") {
		t.Errorf("drill metrics carry the backup's:\n%s", data)
	}
}

func TestCheckDrill(t *testing.T) {
	now := time.Now()
	o := CheckOptions{MaxAge: 26 * time.Hour, MaxDrillAge: 8 * 24 * time.Hour, Now: now}
	repo, _ := newRepo(t)
	writeSnapshot(t, repo, now.Add(-time.Hour))
	check := func(state int, fragments ...string) {
		t.Helper()
		r := Check(t.Context(), repo, o)
		if r.State != state {
			t.Fatalf("state %d, want %d: %s", r.State, state, r.Line())
		}
		for _, f := range fragments {
			if !strings.Contains(r.Line(), f) {
				t.Fatalf("%q lacks %q", r.Line(), f)
			}
		}
	}
	without := o
	without.MaxDrillAge = 0
	if r := Check(t.Context(), repo, without); r.State != OK || strings.Contains(r.Line(), "drill") {
		t.Fatalf("without --max-drill-age: %s", r.Line())
	}
	check(Critical, "no restore drill recorded", "drill_age=U")
	write := func(s *DrillStatus) {
		t.Helper()
		if err := WriteDrillStatus(t.Context(), repo.Store(), s); err != nil {
			t.Fatal(err)
		}
	}
	write(&DrillStatus{Finished: now.Add(-time.Hour), Result: ResultFailure, Error: "drill failed: boom"})
	check(Critical, "no restore drill has succeeded; the last drill at", "failed: drill failed: boom")
	write(&DrillStatus{Finished: now.Add(-9 * 24 * time.Hour), Result: ResultSuccess, SnapshotID: "20260101T000000Z-00000001"})
	check(Critical, "last successful restore drill (snapshot 20260101T000000Z-00000001) is 9d old (max 8d)", "drill_age=777600s;;691200;0")
	write(&DrillStatus{Finished: now.Add(-2 * 24 * time.Hour), Result: ResultSuccess, SnapshotID: "20260101T000000Z-00000002"})
	check(OK, "ZUULSTATE OK", "is 2d old", "snapshots=1;;;0 drill_age=")
	write(&DrillStatus{Finished: now.Add(-time.Hour), Result: ResultFailure, Error: "drill failed: mismatch"})
	check(Warning, "is 2d old; the last drill at", "failed: drill failed: mismatch")
}
