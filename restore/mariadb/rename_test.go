package mariadb

import (
	"testing"

	"github.com/zuulstate/zuulstate/snapshot"
)

func TestRenamer(t *testing.T) {
	r := newRenamer(map[string]string{"zuul": "zuul_dev", "same": "same", "a`b": "c"})
	for _, c := range []struct{ in, want string }{
		{"USE `zuul`", "USE `zuul_dev`"},
		{"CREATE DATABASE `zuul` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", "CREATE DATABASE `zuul_dev` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"},
		{"CREATE VIEW `v` AS select `zuul`.`t`.`id` AS `id` from `zuul`.`t`", "CREATE VIEW `v` AS select `zuul_dev`.`t`.`id` AS `id` from `zuul_dev`.`t`"},
		{"CREATE TABLE `zuul` (`zuul` int)", "CREATE TABLE `zuul` (`zuul` int)"},
		{"SELECT 'it''s `zuul`.x', \"`zuul`.y\", `zuul`.z", "SELECT 'it''s `zuul`.x', \"`zuul`.y\", `zuul_dev`.z"},
		{"SELECT 'a\\'`zuul`.x' -- `zuul`.c\n, `zuul`.d", "SELECT 'a\\'`zuul`.x' -- `zuul`.c\n, `zuul_dev`.d"},
		{"SELECT `x``zuul`.t, /* `zuul`.c */ zuul.t", "SELECT `x``zuul`.t, /* `zuul`.c */ zuul.t"},
		{"/*!50003 CREATE*/ /*!50003 TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET @a = (SELECT 1 FROM `zuul`.`t`) */",
			"/*!50003 CREATE*/ /*!50003 TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET @a = (SELECT 1 FROM `zuul_dev`.`t`) */"},
		{"GRANT SELECT ON `zuul`.* TO `u`@`%`", "GRANT SELECT ON `zuul_dev`.* TO `u`@`%`"},
		{"USE `a``b`", "USE `c`"},
		{"USE `same`", "USE `same`"},
	} {
		if got := r.rewriteAll(c.in); got != c.want {
			t.Errorf("rewriteAll(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	ins := "INSERT INTO `t` VALUES ('`zuul`.x')"
	if got := r.rewriteUse(ins); got != ins {
		t.Errorf("rewriteUse touched an INSERT: %q", got)
	}
	if got := r.rewriteUse("USE `zuul`"); got != "USE `zuul_dev`" {
		t.Errorf("rewriteUse: %q", got)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name, meta string
		kind       partKind
		db, table  string
	}{
		{"zuul.schema", `{"database":"zuul","lock_mode":"ftwrl","tables":[]}`, kindSchema, "zuul", ""},
		{"x7a2e75.t.data.3", `{"database":"z.u","table":"t.x","chunk":3,"rows":1}`, kindData, "z.u", "t.x"},
		{"zuul.post", `{"database":"zuul"}`, kindPost, "zuul", ""},
		{"grants", `{"users":[]}`, kindGrants, "", ""},
		{"zuul.aaaa-0123456789abcdef", `{"database":"zuul","table":"long","rows":1}`, kindData, "zuul", "long"},
	} {
		it, err := classify(snapshot.Part{Name: c.name, Meta: []byte(c.meta)})
		if err != nil || it.kind != c.kind || it.db != c.db || it.table != c.table {
			t.Errorf("%s: %+v %v", c.name, it, err)
		}
	}
	if _, err := classify(snapshot.Part{Name: "zuul.other"}); err == nil {
		t.Error("unknown part name accepted")
	}
}
