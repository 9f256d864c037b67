package mariadb

import (
	"strings"
	"testing"
)

func TestSplitCreate(t *testing.T) {
	build := strings.Join([]string{
		"CREATE TABLE `zuul_build` (",
		"  `id` bigint(20) NOT NULL AUTO_INCREMENT,",
		"  `buildset_id` bigint(20) DEFAULT NULL,",
		"  `uuid` varchar(36) DEFAULT 'KEY x,',",
		"  PRIMARY KEY (`id`),",
		"  UNIQUE KEY `u` (`uuid`),",
		"  KEY `b` (`buildset_id`),",
		"  FULLTEXT KEY `f` (`uuid`),",
		"  CONSTRAINT `c` CHECK (`id` > 0),",
		"  CONSTRAINT `fk` FOREIGN KEY (`buildset_id`) REFERENCES `zuul_buildset` (`id`)",
		") ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4",
	}, "\n")
	create, d, ok := splitCreate(build)
	if !ok {
		t.Fatal("zuul_build not split")
	}
	wantCreate := strings.Join([]string{
		"CREATE TABLE `zuul_build` (",
		"  `id` bigint(20) NOT NULL AUTO_INCREMENT,",
		"  `buildset_id` bigint(20) DEFAULT NULL,",
		"  `uuid` varchar(36) DEFAULT 'KEY x,',",
		"  PRIMARY KEY (`id`),",
		"  CONSTRAINT `c` CHECK (`id` > 0)",
		") ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4",
	}, "\n")
	if create != wantCreate {
		t.Errorf("create:\n%s\nwant:\n%s", create, wantCreate)
	}
	if got, want := d.indexStatement("db"), "ALTER TABLE `db`.`zuul_build` ADD UNIQUE KEY `u` (`uuid`), ADD KEY `b` (`buildset_id`), ADD FULLTEXT KEY `f` (`uuid`)"; got != want {
		t.Errorf("indexes:\n%s\nwant:\n%s", got, want)
	}
	if got, want := d.foreignKeyStatement("db"), "ALTER TABLE `db`.`zuul_build` ADD CONSTRAINT `fk` FOREIGN KEY (`buildset_id`) REFERENCES `zuul_buildset` (`id`)"; got != want {
		t.Errorf("foreign keys:\n%s\nwant:\n%s", got, want)
	}

	for name, stmt := range map[string]string{
		"no primary key": "CREATE TABLE `t` (\n  `a` int(11) DEFAULT NULL,\n  KEY `a` (`a`)\n) ENGINE=InnoDB",
		"myisam":         "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`),\n  KEY `b` (`a`)\n) ENGINE=MyISAM",
		"auto_increment second": "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  `b` int(11) NOT NULL AUTO_INCREMENT,\n" +
			"  PRIMARY KEY (`a`,`b`),\n  KEY `k_b` (`b`)\n) ENGINE=InnoDB",
		"system versioned":    "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`),\n  KEY `b` (`a`)\n) ENGINE=InnoDB WITH SYSTEM VERSIONING",
		"partitioned":         "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`),\n  KEY `b` (`a`)\n) ENGINE=InnoDB\n PARTITION BY HASH (`a`)\nPARTITIONS 2",
		"nothing to defer":    "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`)\n) ENGINE=InnoDB",
		"newline in a string": "CREATE TABLE `t` (\n  `a` varchar(3) DEFAULT 'x\n  KEY y',\n  PRIMARY KEY (`a`),\n  KEY `b` (`a`)\n) ENGINE=InnoDB",
		"sequence":            "CREATE SEQUENCE `s` start with 1 minvalue 1 maxvalue 9 increment by 1 cache 1000 nocycle ENGINE=InnoDB",
	} {
		if _, _, ok := splitCreate(stmt); ok {
			t.Errorf("%s: split, want it kept whole", name)
		}
	}
}
