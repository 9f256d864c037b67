package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ageValue is a duration flag that also takes days (8d, 1d12h), since
// drills run weekly and nobody thinks of a week as 168h.
type ageValue struct{ d *time.Duration }

func (v ageValue) String() string {
	if v.d == nil {
		return "0s"
	}
	d := *v.d
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (v ageValue) Type() string { return "duration" }

func (v ageValue) Set(s string) error {
	var days int64
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q: use a duration such as 26h, 90m or 8d", s)
		}
		days, rest = n, s[i+1:]
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || (days > 0 && r < 0) {
			return fmt.Errorf("%q: use a duration such as 26h, 90m or 8d", s)
		}
		d += r
	}
	*v.d = d
	return nil
}
