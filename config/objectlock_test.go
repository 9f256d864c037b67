package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestObjectLockConfig(t *testing.T) {
	base := "repository:\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: b\n    access_key: a\n    secret_key: s\n"
	c, err := Parse("t", []byte(base+"    object_lock: {mode: Governance, retain: 720h}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Repository.S3.ObjectLock.s3ObjectLock()
	if l.Mode != "GOVERNANCE" || l.Retain != 720*time.Hour || len(l.Prefixes) != 6 || slices.Contains(l.Prefixes, "locks/") {
		t.Fatalf("object lock: %+v", l)
	}
	for in, want := range map[string]string{
		"{mode: compliance}":                      "retain is required",
		"{mode: legal-hold, retain: 24h}":         `mode "legal-hold"`,
		"{mode: compliance, retain: 10s}":         "shorter than a minute",
		"{mode: compliance, retain: 900000h}":     "longer than 10 years",
		"{mode: governance, retain: 1h, days: 3}": "field days not found",
	} {
		_, err := Parse("t", []byte(base+"    object_lock: "+in+"\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("object_lock %s: got %v, want an error mentioning %q", in, err, want)
		}
	}
}
