package config

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// explainTypeErrors rewrites yaml's type errors, which name Go types
// ("line 4: cannot unmarshal !!map into config.PathItems"), in the terms of
// the file: what the line holds and what belongs there ("line 4: a mapping
// where a list belongs"). Other errors, and errors that wrap one (their
// wrapping says where the lines count from), pass unchanged.
func explainTypeErrors(err error) error {
	te, ok := err.(*yaml.TypeError) //nolint:errorlint // yaml's own error only: a wrapped one keeps the wrapping's "where lines count from"
	if !ok {
		return err
	}
	lines := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		lines[i] = explainTypeError(e)
	}
	return errors.New(strings.Join(lines, "; "))
}

// typeErrorLine is yaml.v3's wording: the node's tag, a scalar's value in
// backquotes, the Go type.
var typeErrorLine = regexp.MustCompile("^(line [0-9]+): cannot unmarshal !!([a-z]+)(?: `.*`)? into (\\S+)$")

var nodeKinds = map[string]string{
	"map": "a mapping (key: value lines)", "seq": "a list", "str": "a string", "int": "a number",
	"float": "a number", "bool": "true or false", "null": "nothing", "timestamp": "a date",
}

func explainTypeError(line string) string {
	m := typeErrorLine.FindStringSubmatch(line)
	if m == nil {
		return line
	}
	found, ok := nodeKinds[m[2]]
	want := describeType(m[3])
	if !ok || want == "" {
		return line
	}
	return m[1] + ": " + found + " where " + want + " belongs"
}

var (
	configTypesOnce sync.Once
	configTypes     map[string]reflect.Type // by the name yaml's errors use
)

// describeType says in a file's terms what the Go type named name (as
// yaml prints it) holds; "" if it is none of Config's.
func describeType(name string) string {
	configTypesOnce.Do(func() {
		configTypes = map[string]reflect.Type{}
		var walk func(reflect.Type)
		walk = func(t reflect.Type) {
			if _, seen := configTypes[t.String()]; seen {
				return
			}
			configTypes[t.String()] = t
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				walk(t.Elem())
			case reflect.Struct:
				for i := range t.NumField() {
					walk(t.Field(i).Type)
				}
			}
		}
		walk(reflect.TypeFor[Config]())
	})
	t, ok := configTypes[name]
	if !ok {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration (such as 90s or 2h)"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "a mapping (key: value lines)"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number"
	}
	return ""
}
