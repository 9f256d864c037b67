// Command demoseed prepares `make demo` (scripts/demo.sh) on the dev
// services (scripts/dev-services.sh env):
//
//	demoseed seed -dir DIR                  build the Zuul-shaped prod, empty the dev side
//	demoseed config -dir DIR -recipient AGE render examples/demo/zuulstate.yaml to stdout
//	demoseed serve                          idle until SIGTERM (the demo container's service)
//
// Build it with CGO_ENABLED=0: seed puts this very binary into the
// FROM-scratch image of the demo's running container, which runs "serve".
// The prod database comes from scripts/zuuldb. See internal/demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zuulstate/zuulstate/internal/demo"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "/tmp/zuulstate-demo", "demo directory (host paths, age key, rendered config)")
	builds := fs.Int("builds", 0, "builds whose logs go into the log volume (default: the demo's)")
	recipient := fs.String("recipient", "", "age public key for the repository (config)")
	tmpl := fs.String("template", "examples/demo/zuulstate.yaml", "config template (config)")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := demo.Default(*dir)
	if *builds > 0 {
		s.Builds = *builds
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(ctx, s)
	case "config":
		err = renderConfig(s, *tmpl, *recipient)
	case "serve":
		serve(ctx)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: demoseed seed|config|serve [-dir DIR] [-recipient AGE] [-template FILE]")
	os.Exit(2)
}

func seed(ctx context.Context, s demo.Setup) error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	s.ServiceBinary = bin
	sv, err := demo.Connect(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer sv.Close()
	sv.Log = func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }
	return demo.Seed(ctx, s, sv)
}

func renderConfig(s demo.Setup, tmpl, recipient string) error {
	b, err := os.ReadFile(tmpl)
	if err != nil {
		return err
	}
	out, err := demo.RenderConfig(string(b), s.Vars(os.Getenv, recipient))
	if err != nil {
		return err
	}
	_, err = os.Stdout.WriteString(out)
	return err
}

// serve is the demo container's service: like a Zuul scheduler it reads its
// configuration and certificates at start (failing without them), then
// waits until it is stopped.
func serve(ctx context.Context) {
	for _, f := range []string{"/etc/zuul/config/zuul.conf", "/etc/zuul/certs/client.pem", "/etc/zuul/certs/cacert.pem"} {
		if _, err := os.ReadFile(f); err != nil {
			fmt.Fprintln(os.Stderr, "zuul-service:", err)
			os.Exit(1)
		}
	}
	<-ctx.Done()
}
