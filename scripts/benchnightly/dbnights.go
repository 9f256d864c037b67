package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// runDatabase is the MariaDB scenario: every night zuulstate's mariadb
// source and `mariadb-dump | restic backup --stdin` back up the same
// database, taking turns at going first; between nights 1% more
// buildsets, with all their rows, are appended.
func (b *bench) runDatabase(ctx context.Context) (*report, error) {
	base := max(500, int64(60000*b.scale+0.5))
	perNight := max(1, (base+50)/100)
	db, err := databaseFromEnv(b.dbName, base)
	if err != nil {
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		return nil, err
	}
	dir := filepath.Join(b.work, "database")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pwFile := filepath.Join(dir, "mariadb-password")
	if err := os.WriteFile(pwFile, []byte(db.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	sources := fmt.Sprintf("sources:\n  mariadb:\n    addr: %s\n    user: %s\n    password_file: %s\n    databases: [%s]\n",
		db.addr, db.user, pwFile, db.name)
	zs, err := newZuulstate(filepath.Join(dir, "zuulstate-f3"), b.bin, b.key, true, sources)
	if err != nil {
		return nil, err
	}
	rs, err := newRestic(ctx, filepath.Join(dir, "restic"))
	if err != nil {
		return nil, err
	}
	defaults, err := db.defaultsFile(dir)
	if err != nil {
		return nil, err
	}
	// --defaults-file must come first; the password is in the file.
	dump := []string{"mariadb-dump", "--defaults-file=" + defaults, "--single-transaction", "--routines", "--events", "--triggers", db.name}
	size, rows, err := db.size(ctx)
	if err != nil {
		return nil, err
	}
	rep := &report{scenario: "database", input: fmt.Sprintf("%s: %d buildsets, %d rows, %.0f MiB of data and indexes; %d buildsets (1%%) appended per night",
		db.name, base, rows, float64(size)/(1<<20), perNight)}
	for n := 1; n <= nights; n++ {
		if n > 1 {
			if err := db.appendNight(ctx, perNight); err != nil {
				return nil, fmt.Errorf("night %d: append: %w", n, err)
			}
		}
		row := nightRow{night: n}
		zRun := func() error {
			r, _, err := measure(ctx, nil, zs.backup()...)
			if err != nil {
				return err
			}
			row.zs = r
			row.zsStats, err = zs.stats(ctx)
			return err
		}
		rRun := func() (err error) {
			row.rs, row.producerRSS, err = measurePipe(ctx, rs.env, dump,
				[]string{"restic", "backup", "--quiet", "--stdin", "--stdin-filename", "zuul.sql"})
			return err
		}
		order := []func() error{zRun, rRun}
		if n%2 == 0 {
			order = []func() error{rRun, zRun}
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, fmt.Errorf("night %d: %w", n, err)
			}
		}
		if row.zsStored, err = diskUsage(ctx, zs.repo); err != nil {
			return nil, err
		}
		if row.rsStored, err = diskUsage(ctx, rs.repo); err != nil {
			return nil, err
		}
		b.log(rep, row)
		rep.nights = append(rep.nights, row)
	}
	if rep.zsState, err = diskUsage(ctx, zs.state); err != nil {
		return nil, err
	}
	if rep.rsCache, err = diskUsage(ctx, rs.cache); err != nil {
		return nil, err
	}
	if size, rows, err = db.size(ctx); err != nil {
		return nil, err
	}
	rep.input += fmt.Sprintf(" (after night %d: %d rows, %.0f MiB)", nights, rows, float64(size)/(1<<20))
	return rep, nil
}
