// Package miniotest starts a private MinIO server for tests that must stop
// and restart the S3 server under a running backup, which the shared
// dev-services MinIO must never be. It uses the binary scripts/dev-services.sh
// builds, listens on plain HTTP on loopback and keeps its data directory
// across restarts.
package miniotest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is a private MinIO; Stop and Start keep its port and data.
type Server struct {
	Addr              string // host:port, plain HTTP
	AccessKey, Secret string
	dir, bin, console string
	cmd               *exec.Cmd
	log               *os.File
}

// Binary returns the MinIO server binary of scripts/dev-services.sh; a
// missing one skips the test, or fails it in CI.
func Binary(t testing.TB) string {
	t.Helper()
	cache := os.Getenv("ZUULSTATE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "zuulstate")
	}
	bin := filepath.Join(cache, "bin", "minio")
	if _, err := os.Stat(bin); err != nil {
		msg := "the MinIO binary " + bin + " is missing: run scripts/dev-services.sh start"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Start runs a private MinIO with the given credentials and one bucket,
// stopped at the end of the test.
func Start(t testing.TB, accessKey, secret, bucket string) *Server {
	t.Helper()
	s := &Server{AccessKey: accessKey, Secret: secret, dir: t.TempDir(), bin: Binary(t), Addr: freeAddr(t), console: freeAddr(t)}
	t.Cleanup(s.Stop)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Start (re)starts the server on its port and data directory and waits
// until it answers.
func (s *Server) Start(ctx context.Context) error {
	log, err := os.OpenFile(filepath.Join(s.dir, "minio.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "server", "--address", s.Addr, "--console-address", s.console, filepath.Join(s.dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.Secret, "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	s.cmd, s.log = cmd, log
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Addr+"/minio/health/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	out, _ := os.ReadFile(log.Name())
	return fmt.Errorf("miniotest: MinIO on %s did not start:\n%s", s.Addr, out)
}

// Stop kills the server (as a crash or an outage would) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = s.log.Close()
	s.cmd = nil
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
