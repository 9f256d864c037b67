-- torture.sql: a MariaDB 10.11 schema covering everything issue 3 calls "complete".
-- Load into an EMPTY database:  mariadb DB < torture.sql   (no USE, no database names
-- inside), or with mariadbtest.LoadTorture, which splits it the same way the client does:
-- a statement ends at a line ending with the current DELIMITER.
-- The ~20 MiB LONGBLOB row (larger than max_allowed_packet) is added by
-- mariadbtest.InsertLargeBlob, not here.

-- The file is UTF-8 whatever the client's default character set.
SET NAMES utf8mb4;

-- Every column type, one row per edge case. Generated columns (v_virtual, v_stored) are
-- computed by the server and must never be inserted.
CREATE TABLE types (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  de DECIMAL(65,30), de0 DECIMAL(10,0),
  f FLOAT, d DOUBLE,
  b1 BIT(1), b64 BIT(64),
  dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, yr YEAR,
  c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  l1 VARCHAR(64) CHARACTER SET latin1, tx TEXT CHARACTER SET utf8mb4,
  bn BINARY(8), vb VARBINARY(300), bl BLOB, lb LONGBLOB,
  js JSON, en ENUM('a','b','c d','é'), st SET('x','y','z'),
  g GEOMETRY REF_SYSTEM_ID=4326, pt POINT, pg POLYGON,
  ip INET6, uu UUID,
  v_virtual BIGINT AS (i * 2) VIRTUAL,
  v_stored VARCHAR(300) AS (UPPER(vc)) STORED,
  KEY (v_stored(20))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Row 1: minimum values. Row 2: maximum values. Row 3: special floats, bytes, text.
-- Row 4: all NULL. Row 5: empty strings (not NULL). Row 6: all 256 byte values.
INSERT INTO types (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, de, de0, f, d, b1, b64, dt, tm, dtm, ts, yr, c, vc, l1, tx, bn, vb, bl, lb, js, en, st, g, pt, pg, ip, uu) VALUES
(1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
 -99999999999999999999999999999999999.999999999999999999999999999999, -9999999999,
 -3.4028234663852886e38, -1.7976931348623157e308, b'0', b'0',
 '1000-01-01', '-838:59:59.000000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', 1901,
 'a', 'a', 'a', 'a', X'00', X'00', X'00', X'00', '{}', 'a', '',
 ST_GeomFromText('POINT(-180 -90)', 4326), ST_GeomFromText('POINT(0 0)'),
 ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), '::', '00000000-0000-0000-0000-000000000000'),
(2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
 99999999999999999999999999999999999.999999999999999999999999999999, 9999999999,
 3.4028234663852886e38, 1.7976931348623157e308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
 '9999-12-31', '838:59:59.000000', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155,
 'zzzzzzzzzz', REPEAT('z', 255), 'ÿÿÿ', REPEAT('long text ', 1000), X'FFFFFFFFFFFFFFFF', REPEAT(X'FF', 300), REPEAT(X'FF', 1000), REPEAT(X'FF', 100000),
 '{"a":[1,2,{"b":null}],"u":"\\u00e9","n":1.5e300}', 'é', 'x,y,z',
 ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326), ST_GeomFromText('POINT(1.5 -2.25)'),
 ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))'),
 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
(3, 0, 1, 0, 1, 0, 1, 16777217, 1, 4503599627370497, 9007199254740993,
 0.000000000000000000000000000001, 0,
 16777217, 2.2250738585072014e-308, NULL, b'1000000000000000000000000000000000000000000000000000000000000001',
 '0000-00-00', '00:00:00.000001', '0000-00-00 00:00:00.000000', '2000-02-29 12:34:56.123456', 0,
 '😀', 'emoji 😀🦄 𝄞 and ü; quote '' " \\ end', 'café Ñ ß ÿ', 'line1\nline2\r\nline3\ttab',
 X'00275C1A0D0A2200', X'00275C1A0D0A22005C5C27', X'5C0027221A0D0A', X'0D0A1A5C27220000',
 '{"emoji":"😀","quote":"\\"","bs":"\\\\","nl":"\\n"}', 'c d', 'y',
 ST_GeomFromText('LINESTRING(0 0,1 1,2 0)', 4326), ST_GeomFromText('POINT(3 4)'), NULL,
 '2001:db8::1', '123e4567-e89b-12d3-a456-426614174000'),
(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'0', b'0', '2024-01-01', '00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 2024,
 '', '', '', '', '', '', '', '', '""', 'a', '',
 NULL, NULL, NULL, '::ffff:1.2.3.4', '00000000-0000-0000-0000-000000000001'),
(6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 1, 1.17549435e-38, 4.9e-324, b'1', b'101', '2024-02-29', '-00:00:00.5', '1970-01-01 00:00:00.000001', '1999-12-31 23:59:59', 1999,
 'x', 'x', 'x', 'x',
 X'0001020304050607', UNHEX('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF'),
 UNHEX('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF'),
 REPEAT(UNHEX('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF'), 4096),
 '[1, 2.0, "three", true, null]', 'b', 'x,z',
 ST_GeomFromText('MULTIPOINT(1 1,2 2)', 4326), ST_GeomFromText('POINT(-0.5 1e-10)'), NULL,
 'fe80::1:2:3:4', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');

-- The same values without FLOAT and DOUBLE columns: such a table is read
-- through the text protocol instead of the binary one.
CREATE TABLE types_text LIKE types;
ALTER TABLE types_text DROP COLUMN f, DROP COLUMN d;
INSERT INTO types_text (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, de, de0, b1, b64, dt, tm, dtm, ts, yr, c, vc, l1, tx, bn, vb, bl, lb, js, en, st, g, pt, pg, ip, uu)
  SELECT id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, de, de0, b1, b64, dt, tm, dtm, ts, yr, c, vc, l1, tx, bn, vb, bl, lb, js, en, st, g, pt, pg, ip, uu FROM types;

-- -0e0 (MariaDB 10.11 stores it as +0, whatever the client sends) and other float/double values that text round trips tend to lose.
CREATE TABLE floats (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  f FLOAT NOT NULL, d DOUBLE NOT NULL, fu FLOAT UNSIGNED, f72 FLOAT(7,2)
) ENGINE=InnoDB;
INSERT INTO floats (f, d, fu, f72) VALUES
(-0e0, -0e0, 0, 0), (16777217, 9007199254740993, 16777217, 12345.67), (0.1, 0.1, 0.1, -99999.99),
(1.17549435e-38, 2.2250738585072014e-308, 1.4e-45, 0.01), (3.14159274, 3.141592653589793, 2.71828183, 3.14),
(123456.789, 123456789.123456789, 1e38, 1), (-1.5e-7, -1.5e-300, 7e-46, 0);

-- A table whose column defaults to NEXTVAL(): mariadb-dump's output cannot reload it.
CREATE SEQUENCE seq_ids START WITH 100 INCREMENT BY 5 NOCACHE;
CREATE SEQUENCE seq_cached START WITH 1 INCREMENT BY 1 CACHE 50;
CREATE TABLE with_seq (
  id BIGINT NOT NULL DEFAULT NEXTVAL(seq_ids) PRIMARY KEY,
  name VARCHAR(32) NOT NULL
) ENGINE=InnoDB;
INSERT INTO with_seq (name) VALUES ('one'), ('two'), ('three');
SELECT NEXTVAL(seq_ids), NEXTVAL(seq_ids), NEXTVAL(seq_cached), NEXTVAL(seq_cached);

-- AUTO_INCREMENT counter ahead of max(id).
CREATE TABLE auto_ahead (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  v VARCHAR(16)
) ENGINE=InnoDB;
INSERT INTO auto_ahead (v) VALUES ('a'), ('b'), ('c'), ('gone');
DELETE FROM auto_ahead WHERE v = 'gone';
ALTER TABLE auto_ahead AUTO_INCREMENT = 1000;

-- Non-transactional engines.
CREATE TABLE legacy_myisam (id INT NOT NULL PRIMARY KEY, note VARCHAR(64), blobby BLOB) ENGINE=MyISAM;
INSERT INTO legacy_myisam VALUES (1, 'myisam', X'00FF'), (2, NULL, NULL), (3, '', '');
CREATE TABLE legacy_aria (id INT NOT NULL PRIMARY KEY, note VARCHAR(64)) ENGINE=Aria TRANSACTIONAL=1;
INSERT INTO legacy_aria VALUES (1, 'aria'), (2, 'ärïä');

-- System-versioned table with history rows.
CREATE TABLE versioned (
  id INT NOT NULL PRIMARY KEY,
  state VARCHAR(16) NOT NULL
) ENGINE=InnoDB WITH SYSTEM VERSIONING;
INSERT INTO versioned VALUES (1, 'new'), (2, 'new'), (3, 'new');
UPDATE versioned SET state = 'running' WHERE id IN (1, 2);
UPDATE versioned SET state = 'done' WHERE id = 1;
DELETE FROM versioned WHERE id = 3;

-- Foreign keys: the child must load after (or with checks off during) the parent.
CREATE TABLE parent (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(32) NOT NULL UNIQUE
) ENGINE=InnoDB;
CREATE TABLE child (
  id INT NOT NULL PRIMARY KEY,
  parent_id INT NOT NULL,
  self_id INT NULL,
  CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE,
  CONSTRAINT fk_child_self FOREIGN KEY (self_id) REFERENCES child (id)
) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'p1'), (2, 'p2');
INSERT INTO child VALUES (10, 1, NULL), (11, 1, 10), (12, 2, 11);

-- Every kind of secondary index: the restore builds them after the rows are
-- in, so they must come back with the same names, kinds and order.
CREATE TABLE idx_kinds (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code CHAR(8) NOT NULL,
  title VARCHAR(100),
  body TEXT,
  pt POINT NOT NULL,
  n INT NOT NULL DEFAULT 0,
  twice INT AS (n * 2) PERSISTENT,
  UNIQUE KEY uq_code (code),
  KEY k_prefix (title(10)) COMMENT 'prefix, with a comment',
  KEY k_desc (title DESC, id),
  KEY k_gen (twice),
  FULLTEXT KEY ft_text (title, body),
  SPATIAL KEY sp_pt (pt),
  CONSTRAINT fk_idx_parent FOREIGN KEY (id) REFERENCES parent (id)
) ENGINE=InnoDB;
INSERT INTO idx_kinds (id, code, title, body, pt) VALUES
  (1, 'a', 'first title', 'some body text', ST_GeomFromText('POINT(1 2)')),
  (2, 'b', NULL, NULL, ST_GeomFromText('POINT(-3 4.5)'));

-- InnoDB needs the AUTO_INCREMENT column first in some index: this one keeps
-- its secondary key during the load.
CREATE TABLE ai_second (
  a INT NOT NULL,
  b INT NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (a, b),
  KEY k_b (b)
) ENGINE=InnoDB;
INSERT INTO ai_second (a) VALUES (1), (1), (2);

-- No primary key, with duplicate rows.
CREATE TABLE no_pk (a INT, b VARCHAR(8), c BLOB) ENGINE=InnoDB;
INSERT INTO no_pk VALUES (1, 'x', NULL), (1, 'x', NULL), (NULL, NULL, ''), (2, '', X'00');

-- A view on a view: alphabetical order (a_ before z_) is the wrong creation order.
CREATE VIEW z_view_base AS SELECT p.id, p.name, COUNT(c.id) AS children
  FROM parent p LEFT JOIN child c ON c.parent_id = p.id GROUP BY p.id, p.name;
CREATE VIEW a_view_top AS SELECT name, children FROM z_view_base WHERE children > 0;

-- Trigger, procedure, function and event with bodies containing ';' and newlines.
DELIMITER ;;
CREATE TRIGGER child_audit BEFORE INSERT ON child FOR EACH ROW
BEGIN
  IF NEW.self_id = NEW.id THEN
    SET NEW.self_id = NULL;
  END IF;
END;;
CREATE PROCEDURE add_parent(IN p_id INT, IN p_name VARCHAR(32))
  COMMENT 'inserts a parent; returns the count'
BEGIN
  INSERT INTO parent (id, name) VALUES (p_id, p_name);
  SELECT COUNT(*) AS parents FROM parent;
END;;
CREATE FUNCTION child_count(p_id INT) RETURNS INT
  READS SQL DATA DETERMINISTIC
BEGIN
  DECLARE n INT;
  SELECT COUNT(*) INTO n FROM child WHERE parent_id = p_id;
  RETURN n;
END;;
CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2037-12-31 03:00:00'
  ON COMPLETION PRESERVE ENABLE COMMENT 'far future; never fires in tests'
DO BEGIN
  DELETE FROM no_pk WHERE a IS NULL;
  UPDATE auto_ahead SET v = 'x' WHERE id < 0;
END;;
DELIMITER ;
