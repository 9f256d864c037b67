package mariadbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Server is a throwaway mariadbd started by StartServer: its own data
// directory, a free loopback port and a user with every privilege, for tests
// that must do to a server what the shared dev-services servers must not
// suffer (kill it, fill it, reconfigure it).
type Server struct {
	Addr     string // 127.0.0.1:port
	Socket   string // unix socket; root connects here by socket authentication
	User     string // has ALL PRIVILEGES WITH GRANT OPTION, from any host
	Password string
	Dir      string // data directory, socket and log

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error
	killOnce sync.Once
}

// procAttr returns the process attributes of the server: on Linux the
// server is killed if the test binary dies first (a timeout panic runs no
// cleanup).
var procAttr = func() *syscall.SysProcAttr { return nil }

// serverStartTimeout bounds the start of a throwaway server: generous,
// because the tests run next to other work on small machines.
const serverStartTimeout = 90 * time.Second

// StartServer initializes a data directory the way scripts/dev-services.sh
// does (mariadb-install-db, root by socket authentication) and starts
// mariadbd on a free 127.0.0.1 port with extra server options args (for
// example "--log-bin=…"). It creates Server.User with a random password.
// The server is killed and its directory removed when the test ends.
//
// The test is skipped (failed when CI is set) when mariadbd or
// mariadb-install-db is not installed.
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	mariadbd, installDB := lookTool(t, "mariadbd"), lookTool(t, "mariadb-install-db")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// The socket path must stay short (sun_path is 108 bytes), so the
	// directory is not t.TempDir(), whose name carries the test name.
	dir, err := os.MkdirTemp("", "zsmdb")
	if err != nil {
		t.Fatal(err)
	}
	if len(dir) > 80 {
		os.RemoveAll(dir)
		if dir, err = os.MkdirTemp("/tmp", "zsmdb"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("mariadbtest: removing %s: %v", dir, err)
		}
	})
	data, tmp := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	common := []string{
		// A server starting up (mariadb-install-db's bootstrap too)
		// deletes every #sql* file in its tmpdir: with the default /tmp,
		// the temporary tables of the shared servers' running queries.
		"--tmpdir=" + tmp,
		// Small InnoDB files: the directory is written from scratch
		// every time.
		"--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M",
	}
	install := exec.Command(installDB, append([]string{"--no-defaults", "--datadir=" + data, "--user=" + me.Username,
		"--auth-root-authentication-method=socket", "--auth-root-socket-user=" + me.Username, "--skip-test-db"}, common...)...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadbtest: mariadb-install-db: %v\n%s", err, out)
	}

	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	s := &Server{Socket: filepath.Join(dir, "mariadb.sock"), User: "zstest", Password: hex.EncodeToString(b[:]), Dir: dir}
	// A port found free can be taken by someone else before mariadbd binds
	// it: try a few.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(t, mariadbd, me.Username, port, append(common, args...)); lastErr == nil {
			break
		}
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("mariadbtest: starting mariadbd in %s: %v\n%s", dir, lastErr, s.logTail())
	}
	t.Cleanup(s.Kill)

	root, err := sql.Open("mysql", (&mysql.Config{Net: "unix", Addr: s.Socket, User: "root", AllowNativePasswords: true}).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER '" + s.User + "'@'%' IDENTIFIED BY '" + s.Password + "'",
		"GRANT ALL PRIVILEGES ON *.* TO '" + s.User + "'@'%' WITH GRANT OPTION",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("mariadbtest: throwaway server: %s: %v", strings.Replace(q, s.Password, "…", 1), err)
		}
	}
	return s
}

var errExited = errors.New("mariadbd exited during startup")

// start launches mariadbd and waits until root can connect by socket.
func (s *Server) start(t testing.TB, mariadbd, osUser string, port int, args []string) error {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(s.Dir, "mariadbd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(mariadbd, append([]string{"--no-defaults",
		"--datadir=" + filepath.Join(s.Dir, "data"), "--socket=" + s.Socket,
		"--pid-file=" + filepath.Join(s.Dir, "mariadbd.pid"),
		"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1", "--user=" + osUser, "--skip-name-resolve"}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited, s.killOnce = cmd, make(chan struct{}), sync.Once{}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), serverStartTimeout)
	defer cancel()
	dsn := (&mysql.Config{Net: "unix", Addr: s.Socket, User: "root", Timeout: 2 * time.Second, AllowNativePasswords: true}).FormatDSN()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %w", errExited, s.waitErr)
		case <-ctx.Done():
			s.Kill()
			return fmt.Errorf("not ready after %v", serverStartTimeout)
		case <-time.After(100 * time.Millisecond):
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return err
		}
		err = db.PingContext(ctx)
		db.Close()
		if err == nil {
			return nil
		}
	}
}

// Kill sends SIGKILL to the server and waits until it is gone. Clients see
// their connections reset, as when a server crashes or is OOM-killed. It
// may be called more than once.
func (s *Server) Kill() {
	s.killOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	})
}

// Config returns a driver configuration for Server.User over TCP, set up as
// Config does for the shared servers.
func (s *Server) Config() *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", s.Addr, s.User, s.Password
	cfg.MultiStatements = true
	cfg.MaxAllowedPacket = 0
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	cfg.Timeout = 10 * time.Second
	return cfg
}

// Open connects to the server as Server.User; the pool is closed at the end
// of the test (before the server is killed).
func (s *Server) Open(t testing.TB) *sql.DB {
	t.Helper()
	return openConfig(t, s.Config())
}

// logTail returns the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "mariadbd.log"))
	if err != nil {
		return err.Error()
	}
	if i := len(b) - 4000; i > 0 {
		b = b[bytes.IndexByte(b[i:], '\n')+i+1:]
	}
	return string(b)
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lookTool finds a server program, also in the sbin directories that are
// not on every user's PATH.
func lookTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "mariadbtest: " + name + " is not installed (scripts/dev-services.sh start installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
