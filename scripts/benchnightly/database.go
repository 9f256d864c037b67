package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// database is the Zuul-shaped database of the MariaDB scenario, on the
// prod dev-services server. scripts/zuuldb writes buildsets 1..base with
// their refs, builds, events, artifacts and provides; ids derive from the
// buildset id (build = buildset*16+j, artifact = build*8+k), which is what
// lets a night append copies of the newest buildsets under new ids.
type database struct {
	addr, user, password, name string
	base                       int64 // buildsets written by zuuldb
}

func databaseFromEnv(name string, base int64) (*database, error) {
	d := &database{addr: os.Getenv("ZUULSTATE_TEST_MARIADB_PROD_ADDR"), user: os.Getenv("ZUULSTATE_TEST_MARIADB_USER"),
		password: os.Getenv("ZUULSTATE_TEST_MARIADB_PASSWORD"), name: name, base: base}
	if d.addr == "" || d.user == "" || d.password == "" {
		return nil, fmt.Errorf(`MariaDB not configured: run eval "$(scripts/dev-services.sh env)"`)
	}
	return d, nil
}

// prepare removes what earlier invocations appended, then lets zuuldb
// keep the database (exactly base buildsets) or generate it.
func (d *database) prepare(ctx context.Context) error {
	exists, err := d.sql(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+d.name+"' AND TABLE_NAME = 'alembic_version'")
	if err != nil {
		return err
	}
	if exists == "1" {
		if err := d.truncateTo(ctx, d.base); err != nil {
			return err
		}
	}
	gen := exec.CommandContext(ctx, "go", "run", "./scripts/zuuldb", "-addr", d.addr, "-user", d.user, "-db", d.name,
		"-buildsets", strconv.FormatInt(d.base, 10))
	gen.Stdout, gen.Stderr = os.Stderr, os.Stderr
	gen.Env = append(os.Environ(), "ZUULSTATE_TEST_MARIADB_PASSWORD="+d.password)
	if err := gen.Run(); err != nil {
		return fmt.Errorf("generating %s: %w", d.name, err)
	}
	return nil
}

// truncateTo deletes every row that belongs to a buildset above n.
func (d *database) truncateTo(ctx context.Context, n int64) error {
	build := strconv.FormatInt(n*16+15, 10)
	bs := strconv.FormatInt(n, 10)
	return d.exec(ctx, "DELETE FROM zuul_provides WHERE build_id > "+build,
		"DELETE FROM zuul_artifact WHERE build_id > "+build,
		"DELETE FROM zuul_build_event WHERE build_id > "+build,
		"DELETE FROM zuul_build WHERE buildset_id > "+bs,
		"DELETE FROM zuul_buildset_event WHERE buildset_id > "+bs,
		"DELETE FROM zuul_buildset_ref WHERE buildset_id > "+bs,
		"DELETE FROM zuul_buildset WHERE id > "+bs,
		"DELETE FROM zuul_ref WHERE id > "+bs)
}

// appendNight copies the newest n buildsets, with all their rows, under
// the next n ids: new uuids, revisions and event ids, times n*17 s later
// (zuuldb's spacing). That is 1% more rows in every history table when n
// is 1% of base.
func (d *database) appendNight(ctx context.Context, n int64) error {
	top, err := d.sql(ctx, "SELECT MAX(id) FROM `"+d.name+"`.zuul_buildset")
	if err != nil {
		return err
	}
	m, err := strconv.ParseInt(top, 10, 64)
	if err != nil {
		return fmt.Errorf("max buildset id %q: %w", top, err)
	}
	f := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	lo, hi := m-n+1, m                          // source buildsets
	blo, bhi := lo*16, hi*16+15                 // their builds
	shift, bshift, ashift := n, n*16, n*16*8    // id offsets
	later := f("INTERVAL %d SECOND", n*17)      // time offset
	inBS := f("BETWEEN %d AND %d", lo, hi)      // source buildset ids
	inBuild := f("BETWEEN %d AND %d", blo, bhi) // source build ids
	return d.exec(ctx, "START TRANSACTION",
		f("INSERT INTO zuul_ref SELECT id+%d, project, ref, ref_url, `change`, patchset, oldrev, SHA1(RAND()), branch FROM zuul_ref WHERE id %s", shift, inBS),
		f("INSERT INTO zuul_buildset SELECT id+%[1]d, UUID(), zuul_ref, pipeline, result, message, tenant, MD5(RAND()), event_timestamp + %[2]s, "+
			"first_build_start_time + %[2]s, last_build_end_time + %[2]s, updated + %[2]s FROM zuul_buildset WHERE id %[3]s", shift, later, inBS),
		f("INSERT INTO zuul_buildset_ref SELECT buildset_id+%[1]d, ref_id+%[1]d FROM zuul_buildset_ref WHERE buildset_id %[2]s", shift, inBS),
		f("INSERT INTO zuul_buildset_event SELECT id+%[1]d, buildset_id+%[1]d, event_time + %[2]s, event_type, description FROM zuul_buildset_event WHERE buildset_id %[3]s", shift, later, inBS),
		f("INSERT INTO zuul_build SELECT id+%[1]d, buildset_id+%[2]d, MD5(RAND()), job_name, result, start_time + %[3]s, end_time + %[3]s, voting, "+
			"REPLACE(log_url, LEFT(uuid, 7), LEFT(MD5(RAND()), 7)), error_detail, final, held, nodeset, ref_id+%[2]d FROM zuul_build WHERE buildset_id %[4]s", bshift, shift, later, inBS),
		f("INSERT INTO zuul_build_event SELECT id+%[1]d, build_id+%[1]d, event_time + %[2]s, event_type, description FROM zuul_build_event WHERE build_id %[3]s", bshift, later, inBuild),
		f("INSERT INTO zuul_artifact SELECT id+%d, build_id+%d, name, url, meta FROM zuul_artifact WHERE build_id %s", ashift, bshift, inBuild),
		f("INSERT INTO zuul_provides SELECT id+%[1]d, build_id+%[1]d, name FROM zuul_provides WHERE build_id %[2]s", bshift, inBuild),
		"COMMIT")
}

// size is the database's data and index length (after ANALYZE of the
// large tables, whose statistics lag) and its row count.
func (d *database) size(ctx context.Context) (bytes, rows int64, err error) {
	if err := d.exec(ctx, "ANALYZE TABLE zuul_build, zuul_artifact, zuul_buildset, zuul_ref"); err != nil {
		return 0, 0, err
	}
	out, err := d.sql(ctx, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+d.name+"'")
	if err != nil {
		return 0, 0, err
	}
	bytes, _ = strconv.ParseInt(out, 10, 64)
	var total int64
	for _, t := range []string{"zuul_ref", "zuul_buildset", "zuul_buildset_ref", "zuul_buildset_event", "zuul_build", "zuul_build_event", "zuul_artifact", "zuul_provides"} {
		out, err := d.sql(ctx, "SELECT COUNT(*) FROM `"+d.name+"`."+t)
		if err != nil {
			return 0, 0, err
		}
		n, _ := strconv.ParseInt(out, 10, 64)
		total += n
	}
	return bytes, total, nil
}

func (d *database) exec(ctx context.Context, statements ...string) error {
	_, err := d.sql(ctx, "USE `"+d.name+"`; "+strings.Join(statements, "; "))
	return err
}

// sql runs statements with the mariadb client (password in MYSQL_PWD, as
// scripts/benchdb does) and returns the output, tab-separated.
func (d *database) sql(ctx context.Context, query string) (string, error) {
	host, port := splitAddr(d.addr)
	cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "--protocol=tcp", "-h"+host, "-P"+port, "-u"+d.user, "-N", "-B", "-e", query)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+d.password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("mariadb -e %q: %w: %s", abbrev(query), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// defaultsFile writes the [client] options mariadb-dump reads with
// --defaults-file, so the password never appears in its argv.
func (d *database) defaultsFile(dir string) (string, error) {
	host, port := splitAddr(d.addr)
	path := filepath.Join(dir, "mariadb-dump.cnf")
	body := fmt.Sprintf("[client]\nprotocol=tcp\nhost=%s\nport=%s\nuser=%s\npassword=%s\n", host, port, d.user, d.password)
	return path, os.WriteFile(path, []byte(body), 0o600)
}

func splitAddr(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, "3306"
	}
	return addr[:i], addr[i+1:]
}
