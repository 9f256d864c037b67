// Command writer is the workload of the volumes tests' running
// containers: it keeps rewriting files under the directory given as its
// argument until SIGTERM, like a service writing to its volume. Built
// statically and imported as a FROM-scratch image by voltest.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	dir := "/data"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(5 * time.Millisecond)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		p := filepath.Join(dir, fmt.Sprintf("w%03d", i%50))
		if err := os.WriteFile(p, []byte(time.Now().String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}
