package mariadbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStartServer starts a throwaway server, uses it, kills it and checks
// that clients see it gone.
func TestStartServer(t *testing.T) {
	// The shared servers keep their temporary tables as #sql* files in
	// the default tmpdir; a starting server must not delete them.
	probe := filepath.Join(os.TempDir(), fmt.Sprintf("#sql-zuulstate-probe-%d.MAI", os.Getpid()))
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(probe)
	start := time.Now()
	s := StartServer(t)
	if _, err := os.Stat(probe); err != nil {
		t.Errorf("starting a throwaway server deleted another server's temporary file: %v", err)
	}
	t.Logf("throwaway server on %s (socket %s) up in %v", s.Addr, s.Socket, time.Since(start).Round(time.Millisecond))
	db := s.Open(t)
	// Not CreateDB: its cleanup would find the server gone.
	name := "srv"
	Exec(t, db, "CREATE DATABASE "+name)
	Exec(t, db, "CREATE TABLE "+QuoteIdent(name)+".t (id INT PRIMARY KEY)")
	Exec(t, db, "INSERT INTO "+QuoteIdent(name)+".t SELECT seq FROM "+QuoteIdent(name)+".seq_1_to_1000")
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + QuoteIdent(name) + ".t").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("count: %d %v", n, err)
	}
	s.Kill()
	s.Kill() // twice is fine
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("server still answers after Kill")
	}
}
