package mariadb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/source/mariadb/mariadbpart"
)

func TestWrongPassword(t *testing.T) {
	cfg := devConfig(t)
	cfg.Password = "not-the-Pa55word-xyzzy"
	r := New(cfg)
	defer r.Close()
	f := sampleParts("zsrc_wrongpw", 5)
	err := r.Check(t.Context(), f.parts[0])
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, cfg.Addr) || !strings.Contains(msg, cfg.User) || !strings.Contains(msg, "Access denied") {
		t.Errorf("error should name address, user and cause: %v", err)
	}
	if strings.Contains(msg, cfg.Password) {
		t.Errorf("error contains the password: %v", err)
	}

	cfg = devConfig(t)
	cfg.Addr = "127.0.0.1:1"
	err = New(cfg).Check(t.Context(), f.parts[0])
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), cfg.Password) {
		t.Errorf("unreachable server: %v", err)
	}
}

func TestRowCountMismatch(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	f := sampleParts(src, 7)
	var out strings.Builder
	cfg.Out = &out
	r := New(cfg)
	defer r.Close()
	err := r.Restore(t.Context(), f.parts, f.open)
	if err == nil || !strings.Contains(err.Error(), src+".t (expected 7, restored 5)") {
		t.Fatalf("mismatch not reported: %v", err)
	}
	if !strings.Contains(out.String(), "MISMATCH") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestStatementErrorNamesPart(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	f := sampleParts(src, 5)
	f.streams[src+".t.data.1"] = stream(src, src+".t.data.1",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (3,'x',30)",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (3,'duplicate',30)")
	r := New(cfg)
	defer r.Close()
	err := r.Restore(t.Context(), f.parts, f.open)
	if err == nil || !strings.Contains(err.Error(), "part "+src+".t.data.1: statement 5") || !strings.Contains(err.Error(), "Duplicate entry") {
		t.Fatalf("statement error: %v", err)
	}
}

func TestFinishErrorFails(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	f := sampleParts(src, 5)
	f.failing[src+".post"] = errors.New("checksum mismatch")
	r := New(cfg)
	defer r.Close()
	if err := r.Restore(t.Context(), f.parts, f.open); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("finish error ignored: %v", err)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	f := sampleParts(src, 5)
	for i := 2; i < 6; i++ {
		name := fmt.Sprintf("%s.t.data.%d", src, i)
		f.add(name, stream(src, name, "DO SLEEP(3)"), mariadbpart.DataMeta{Database: src, Table: "t", Chunk: i})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := New(cfg).Restore(ctx, f.parts, f.open)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled restore: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled restore took %v", d)
	}
}

func TestStatementLargerThanPacket(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	max := queryInt(t, admin, "SELECT @@GLOBAL.max_allowed_packet")
	f := sampleParts(src, 5)
	f.streams[src+".t.data.1"] = stream(src, src+".t.data.1",
		"INSERT INTO `t` (`id`,`name`,`n`) VALUES (3,'"+strings.Repeat("a", int(max))+"',30)")
	r := New(cfg)
	defer r.Close()
	err := r.Restore(t.Context(), f.parts, f.open)
	if err == nil || !strings.Contains(err.Error(), "max_allowed_packet") || !strings.Contains(err.Error(), "raise it") {
		t.Fatalf("oversized statement: %v", err)
	}
}

func TestConcatOverflowDetected(t *testing.T) {
	cfg := devConfig(t)
	admin := adminDB(t, cfg)
	src := dbName(t, admin, "zsrc")
	max := queryInt(t, admin, "SELECT @@GLOBAL.max_allowed_packet")
	half := strings.Repeat("ab", int(max)/3) // 2/3 of the limit, as hex
	f := newFakeParts()
	f.add(src+".schema", stream(src, src+".schema", "CREATE TABLE `b` (`id` int PRIMARY KEY, `c` longblob)"),
		mariadbpart.DatabaseMeta{Database: src, Tables: []mariadbpart.TableMeta{{Name: "b", Rows: 1}}})
	// Without a strict sql_mode the server only warns and stores NULL.
	f.add(src+".b.data", strings.Replace(stream(src, src+".b.data",
		"INSERT INTO `b` VALUES (1, '')",
		"UPDATE `b` SET `c` = CONCAT(`c`, 0x"+half+") WHERE `id` = 1",
		"UPDATE `b` SET `c` = CONCAT(`c`, 0x"+half+") WHERE `id` = 1",
		"UPDATE `b` SET `c` = CONCAT(`c`, 0x"+half+") WHERE `id` = 1",
		"UPDATE `b` SET `c` = CONCAT(`c`, 0x"+half+") WHERE `id` = 1"), "STRICT_ALL_TABLES", "", 1),
		mariadbpart.DataMeta{Database: src, Table: "b", Rows: 1})
	r := New(cfg)
	defer r.Close()
	err := r.Restore(t.Context(), f.parts, f.open)
	if err == nil || !strings.Contains(err.Error(), "a value is larger than max_allowed_packet") {
		t.Fatalf("overflowing CONCAT: %v", err)
	}
}
