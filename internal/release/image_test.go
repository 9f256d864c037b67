package release

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zuulstate/zuulstate/internal/testenv"
)

// image is one `make image` build under a name of the test's own, so
// parallel test runs on the shared engine never use each other's.
type image struct {
	ref     string // NAME:latest, the tag the examples use
	version string
	engine  string // DOCKER_HOST
}

// buildImage runs make image against the dev engine; the image is removed
// after the test.
func buildImage(t *testing.T) image {
	t.Helper()
	engine := testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_HOST")
	docker := tool(t, "docker")
	name := unique("zuulstate-test-image-")
	out := mustMake(t, []string{"DOCKER_HOST=" + engine}, "image", "IMAGE="+name)
	img := image{ref: name + ":latest", engine: engine}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, docker, "image", "rm", "--force", img.ref, name+":"+img.version)
		cmd.Env = environ("DOCKER_HOST=" + engine)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("removing %s: %v\n%s", name, err, out)
		}
	})
	img.version = img.inspect(t, `{{index .Config.Labels "org.opencontainers.image.version"}}`)
	if !strings.Contains(out, "built "+name+":"+img.version+" and "+img.ref) {
		t.Fatalf("make image did not say what it built:\n%s", out)
	}
	return img
}

func (img image) inspect(t *testing.T, format string) string {
	t.Helper()
	return output(t, []string{"DOCKER_HOST=" + img.engine}, tool(t, "docker"), "image", "inspect", "--format", format, img.ref)
}

func TestImage(t *testing.T) {
	img := buildImage(t)
	version, want := versionLine(t)
	if img.version != version {
		t.Errorf("image labelled version %q, the checkout is %q", img.version, version)
	}
	if user := img.inspect(t, "{{.Config.User}}"); user != "65532:65532" {
		t.Errorf("image runs as %q, want the non-root 65532:65532", user)
	}
	// One static binary and the CA certificates: about 20 MiB.
	if size, err := strconv.ParseInt(img.inspect(t, "{{.Size}}"), 10, 64); err != nil || size > 64<<20 {
		t.Errorf("image size %d bytes (%v): more than a static binary and the CA certificates", size, err)
	}
	got := output(t, []string{"DOCKER_HOST=" + img.engine}, tool(t, "docker"),
		"run", "--rm", "--network", "none", "--log-driver", "none", img.ref, "--version")
	if !strings.HasPrefix(got, want) {
		t.Errorf("the image's zuulstate --version printed %q, want %q…", got, want)
	}
	t.Run("compose example", func(t *testing.T) { composeExample(t, img) })
}

// make image without an engine says in one line what to start, before
// it builds anything.
func TestImageWithoutEngine(t *testing.T) {
	tool(t, "docker")
	host := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	out, err := runMake(t, []string{"DOCKER_HOST=" + host}, "image", "IMAGE="+unique("zuulstate-test-none-"))
	if err == nil {
		t.Fatalf("make image without an engine succeeded:\n%s", out)
	}
	var ours []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "make: ***") {
			ours = append(ours, l)
		}
	}
	if len(ours) != 1 || !strings.Contains(ours[0], host) || !strings.Contains(ours[0], "scripts/dev-services.sh start") {
		t.Fatalf("want one line naming %s and what to start, got:\n%s", host, out)
	}
}
