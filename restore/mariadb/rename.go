package mariadb

import (
	"strings"

	"github.com/zuulstate/zuulstate/sqlstream"
)

// renamer rewrites database names (source -> target) in statements, for
// --db-map. It only knows backtick-quoted identifiers, which is how the dump
// writes every name:
//
//   - in USE, CREATE/ALTER/DROP DATABASE (or SCHEMA) statements every
//     quoted identifier equal to a source name is replaced;
//   - in any other statement of a schema, post or grants part, a quoted
//     identifier followed by a dot (`zuul`.`t`, `zuul`.*) is replaced.
//
// Not rewritten: unquoted references (zuul.t) and names inside string
// literals (for example a routine that builds SQL text with CONCAT, or
// information_schema lookups by name), and grants on database patterns
// (`zuul\_%`). Such objects keep pointing at the source database name.
type renamer map[string]string

// newRenamer keeps only the entries of m that change a name.
func newRenamer(m map[string]string) renamer {
	r := renamer{}
	for from, to := range m {
		if to != "" && to != from {
			r[from] = to
		}
	}
	return r
}

// rewriteUse rewrites stmt only if it is a database-naming statement; it is
// all that a data part needs and costs nothing on INSERTs.
func (r renamer) rewriteUse(stmt string) string {
	if len(r) == 0 || !namesDatabase(stmt) {
		return stmt
	}
	return r.rewrite(stmt, false)
}

// rewriteAll rewrites a schema, post or grants statement.
func (r renamer) rewriteAll(stmt string) string {
	if len(r) == 0 {
		return stmt
	}
	return r.rewrite(stmt, !namesDatabase(stmt))
}

// namesDatabase reports whether stmt is USE or CREATE/ALTER/DROP DATABASE.
func namesDatabase(stmt string) bool {
	s := strings.TrimSpace(stmt)
	if strings.HasPrefix(s, "/*!") { // /*!40000 CREATE DATABASE …*/
		s = strings.TrimLeft(s[3:], "0123456789 ")
	}
	if len(s) > 40 {
		s = s[:40]
	}
	f := strings.Fields(strings.ToUpper(s))
	switch {
	case len(f) >= 2 && f[0] == "USE":
		return true
	case len(f) >= 3 && (f[0] == "CREATE" || f[0] == "ALTER" || f[0] == "DROP") &&
		(f[1] == "DATABASE" || f[1] == "SCHEMA"):
		return true
	}
	return false
}

// rewrite replaces quoted identifiers found in r, only those followed by a
// dot when qualifiedOnly. It skips string literals and comments.
func (r renamer) rewrite(stmt string, qualifiedOnly bool) string {
	var b strings.Builder
	last := 0 // stmt[last:i] not yet copied to b
	for i := 0; i < len(stmt); {
		switch c := stmt[i]; {
		case c == '\'' || c == '"':
			i = skipString(stmt, i)
		case c == '#' || c == '-' && strings.HasPrefix(stmt[i:], "-- "):
			i = skipTo(stmt, i, "\n")
		case c == '/' && strings.HasPrefix(stmt[i:], "/*") && !strings.HasPrefix(stmt[i:], "/*!") && !strings.HasPrefix(stmt[i:], "/*M!"):
			i = skipTo(stmt, i+2, "*/")
		case c == '`':
			end, name := scanIdent(stmt, i)
			if to, ok := r[name]; ok && (!qualifiedOnly || end < len(stmt) && stmt[end] == '.') {
				b.WriteString(stmt[last:i])
				b.WriteString(sqlstream.QuoteIdent(to))
				last = end
			}
			i = end
		default:
			i++
		}
	}
	if last == 0 {
		return stmt
	}
	b.WriteString(stmt[last:])
	return b.String()
}

// skipString returns the index after the literal starting at stmt[i].
func skipString(stmt string, i int) int {
	q := stmt[i]
	for j := i + 1; j < len(stmt); j++ {
		switch stmt[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(stmt) && stmt[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(stmt)
}

// skipTo returns the index after the first end at or after i.
func skipTo(stmt string, i int, end string) int {
	if k := strings.Index(stmt[i:], end); k >= 0 {
		return i + k + len(end)
	}
	return len(stmt)
}

// scanIdent reads the backtick-quoted identifier at stmt[i] and returns the
// index after it and its unquoted name.
func scanIdent(stmt string, i int) (int, string) {
	var name strings.Builder
	for j := i + 1; j < len(stmt); j++ {
		if stmt[j] != '`' {
			name.WriteByte(stmt[j])
			continue
		}
		if j+1 < len(stmt) && stmt[j+1] == '`' {
			name.WriteByte('`')
			j++
			continue
		}
		return j + 1, name.String()
	}
	return len(stmt), name.String()
}
