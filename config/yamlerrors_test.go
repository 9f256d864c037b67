package config

import (
	"errors"
	"strings"
	"testing"
)

// TestTypeErrorsInTheFilesTerms: a value of the wrong shape is reported by
// its line, what it is and what belongs there, not by Go type names.
func TestTypeErrorsInTheFilesTerms(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{volRepo + "sources:\n  paths:\n    path: /srv\n", "line 6: a mapping (key: value lines) where a list belongs"},
		{volRepo + "  lock_ttl: [1]\n", "line 4: a list where a duration (such as 90s or 2h) belongs"},
		{volRepo + "host: {a: 1}\n", "line 4: a mapping (key: value lines) where a string belongs"},
	} {
		_, err := Parse("t", []byte(tc.yaml), env(nil))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "config.") {
			t.Errorf("%q: got %v, want an error saying %q", tc.yaml, err, tc.want)
		}
	}
}
