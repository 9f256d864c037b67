package storagetest

import (
	"testing"

	"github.com/zuulstate/zuulstate/storage"
)

// testRetainer: a store that can retain objects (S3 Object Lock) reports
// no retention for what it wrote without one and for missing keys, and
// such objects stay deletable.
func testRetainer(t *testing.T, s storage.Store) {
	ret, ok := s.(storage.Retainer)
	if !ok {
		t.Skip("the store never retains objects")
	}
	ctx := t.Context()
	putBytes(t, s, "plain/x", "x")
	for _, key := range []string{"plain/x", "plain/missing"} {
		if until, err := ret.RetainedUntil(ctx, key); err != nil || !until.IsZero() {
			t.Errorf("RetainedUntil(%q) = %v, %v; want no retention", key, until, err)
		}
	}
	if err := s.Delete(ctx, "plain/x"); err != nil {
		t.Fatalf("Delete of an object without retention: %v", err)
	}
}
