package mariadb

import "testing"

func TestClassifyGrant(t *testing.T) {
	cases := []struct {
		line, grantee string
		kind          grantKind
		object        string
	}{
		{"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'", "`u`@`%`", grantPrivilege, "*"},
		{"GRANT SELECT (`id`), UPDATE (`x TO ``r```) ON `app`.`t` TO `u`@`%`", "`u`@`%`", grantPrivilege, "`app`"},
		{"GRANT EXECUTE ON PROCEDURE `app`.`p` TO `u`@`localhost`", "`u`@`localhost`", grantPrivilege, "`app`"},
		{"GRANT EXECUTE ON PACKAGE BODY `app`.`pk` TO `r`", "`r`", grantPrivilege, "`app`"},
		{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", "`root`@`localhost`", grantPrivilege, "*"},
		{"GRANT `reader` TO `u`@`%` WITH ADMIN OPTION", "`u`@`%`", grantRole, ""},
		{"GRANT `odd``role` TO `writer`", "`writer`", grantRole, ""},
		{"SET DEFAULT ROLE `writer` FOR `u`@`%`", "`u`@`%`", grantDefaultRole, ""},
		{"GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION", "`root`@`localhost`", grantOther, ""},
		// A role's SHOW GRANTS also lists the grants of the roles it holds.
		{"GRANT SELECT ON `app`.* TO `reader`", "`writer`", grantForeign, ""},
		{"GRANT `reader` TO `writer`", "`writer2`", grantForeign, ""},
	}
	for _, c := range cases {
		if kind, object := classifyGrant(c.line, c.grantee); kind != c.kind || object != c.object {
			t.Errorf("%s for %s: kind %d object %q, want %d %q", c.line, c.grantee, kind, object, c.kind, c.object)
		}
	}
}
