package zookeeper

import "testing"

// Expected values are what CPython 3 prints for json.dumps(json.loads(x)).
func TestPyReencode(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1,"a":[1,2,{}],"c":{"d":null}}`:                                               `{"b": 1, "a": [1, 2, {}], "c": {"d": null}}`,
		`[0.1, 1e16, 1e15, 123.0, -0.0, 5e-324, 1E-4, 1e-5, 1.5e300, 2.5e-7, 100.25, 1e22]`: `[0.1, 1e+16, 1000000000000000.0, 123.0, -0.0, 5e-324, 0.0001, 1e-05, 1.5e+300, 2.5e-07, 100.25, 1e+22]`,
		`[-0, 123456789012345678901234567890, -7, 1E400, -1e400]`:                           `[0, 123456789012345678901234567890, -7, Infinity, -Infinity]`,
		`{"a": 1, "b": 2, "a": 3}`:                                                          `{"a": 3, "b": 2}`,
		`"Zürich \u2028 \t \u007f \ud834\udd1e \"/\\"`:                                      `"Z\u00fcrich \u2028 \t \u007f \ud834\udd1e \"/\\"`,
		"\xef\xbb\xbf  true ":                                                               `true`,
	} {
		got, err := pythonReencode([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %s (%v), want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "hello", "{} {}", "[1,", "\xff\xfe"} {
		if _, err := pythonReencode([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
