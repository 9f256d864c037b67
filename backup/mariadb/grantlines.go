package mariadb

import (
	"regexp"
	"strings"
)

// grantKind sorts the lines of SHOW GRANTS.
type grantKind int

const (
	grantPrivilege   grantKind = iota // GRANT … ON object TO grantee
	grantRole                         // GRANT `role` TO grantee [WITH ADMIN OPTION]
	grantDefaultRole                  // SET DEFAULT ROLE `role` FOR user
	grantForeign                      // another account's line: a role's SHOW GRANTS lists those of the roles it holds
	grantOther                        // PROXY and anything not understood
)

// grantOn matches the object of a GRANT … ON line.
var grantOn = regexp.MustCompile("^GRANT .* ON (?:PROCEDURE |FUNCTION |PACKAGE BODY |PACKAGE )?(\\*|`(?:[^`]|``)*`)\\.")

// classifyGrant sorts one SHOW GRANTS line of grantee (quoted as SHOW
// GRANTS writes it); for a privilege it also returns the object's database,
// quoted, or "*".
func classifyGrant(line, grantee string) (grantKind, string) {
	if strings.HasPrefix(line, "SET DEFAULT ROLE ") {
		return grantDefaultRole, ""
	}
	if strings.HasPrefix(line, "GRANT PROXY ") {
		return grantOther, ""
	}
	if !grantedTo(line, grantee) {
		return grantForeign, ""
	}
	if rest, ok := strings.CutPrefix(line, "GRANT `"); ok && roleThenTo(rest) {
		return grantRole, ""
	}
	if m := grantOn.FindStringSubmatch(line); m != nil {
		return grantPrivilege, m[1]
	}
	return grantOther, ""
}

// grantedTo reports whether line grants to grantee: " TO grantee" followed
// by the end or a clause (IDENTIFIED …, WITH …, REQUIRE …). Quoted names
// double their backticks, so a column or object name cannot fake it.
func grantedTo(line, grantee string) bool {
	i := strings.LastIndex(line, " TO "+grantee)
	if i < 0 {
		return false
	}
	end := i + len(" TO "+grantee)
	return end == len(line) || line[end] == ' '
}

// roleThenTo reports whether s, just after the opening backtick of
// "GRANT `", is a quoted role name followed by " TO ".
func roleThenTo(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '`' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			i++
			continue
		}
		return strings.HasPrefix(s[i+1:], " TO ")
	}
	return false
}

// stripIdentified removes "IDENTIFIED BY PASSWORD '…'" / "IDENTIFIED VIA …"
// from a SHOW GRANTS line: CREATE USER carries the authentication, and a
// GRANT must not reset an existing account's password.
func stripIdentified(g string) string {
	i := strings.Index(g, " IDENTIFIED ")
	if i < 0 {
		return g
	}
	rest := g[i+1:]
	if j := strings.Index(rest, " WITH "); j >= 0 {
		return g[:i] + rest[j:]
	}
	return g[:i]
}
