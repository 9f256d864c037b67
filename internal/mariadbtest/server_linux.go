package mariadbtest

import "syscall"

func init() {
	// The kernel kills a throwaway server whose test binary died without
	// running its cleanups (go test -timeout, SIGKILL).
	procAttr = func() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
}
