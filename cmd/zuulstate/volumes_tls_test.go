package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/volume"

	"github.com/zuulstate/zuulstate/internal/testenv"
	"github.com/zuulstate/zuulstate/internal/voltest"
	"github.com/zuulstate/zuulstate/internal/zktest"
)

// tlsEngine is the dev engine's TLS listener, reached the way a remote
// engine is: tcp with a client certificate.
type tlsEngine struct{ host, ca, cert, key string }

func lookupTLSEngine(t *testing.T) tlsEngine {
	return tlsEngine{
		host: testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_TLS_HOST"),
		ca:   testenv.Lookup(t, "ZUULSTATE_TEST_TLS_CA_FILE"),
		cert: testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_CERT_FILE"),
		key:  testenv.Lookup(t, "ZUULSTATE_TEST_DOCKER_KEY_FILE"),
	}
}

// TestVolumesRemoteEngineTLS backs a volume up through an engine reached
// over TCP with TLS client certificates (sources.volumes.docker.tls) and
// restores it through the same engine named the docker CLI's way
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), both the engine-API
// way a remote engine needs. The restored tree differs from the source by
// exactly the API way's documented losses. A wrong CA or a missing client
// certificate is one clear error.
func TestVolumesRemoteEngineTLS(t *testing.T) {
	tl := lookupTLSEngine(t)
	eng := voltest.Engine(t)
	vol, mp := voltest.Volume(t, eng, volume.CreateOptions{Labels: map[string]string{"purpose": "remote"}})
	voltest.BuildTree(t, mp, 8<<20)
	want := voltest.Scan(t, mp)

	f := &fixture{dir: t.TempDir()}
	f.repo = filepath.Join(f.dir, "repo")
	if err := os.Mkdir(f.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	config := func(docker string) string {
		return fmt.Sprintf(`repository:
  local:
    path: %s
sources:
  volumes:
    docker:
%s    mode: api
    volumes:
      - name: %s
restore:
  volumes:
    mode: api
    helper_binary: %s
`, f.repo, docker, vol, voltest.Zuulstate(t))
	}
	withTLS := func(ca, cert, key string) string {
		return fmt.Sprintf("      host: %s\n      tls: {ca_file: %s, cert_file: %s, key_file: %s}\n", tl.host, ca, cert, key)
	}
	f.writeConfig(t, config(withTLS(tl.ca, tl.cert, tl.key)))
	f.run(t, "backup").expectOK(t)

	// Restore: the engine from the environment, as the docker CLI takes it.
	certDir := t.TempDir()
	for name, src := range map[string]string{"ca.pem": tl.ca, "cert.pem": tl.cert, "key.pem": tl.key} {
		if err := os.Symlink(src, filepath.Join(certDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	f.writeConfig(t, config(""))
	f.env = append(f.env, "DOCKER_HOST="+tl.host, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+certDir)
	dst := voltest.Name("zstest-tls")
	t.Cleanup(func() { voltest.RemoveVolume(t, eng, dst) })
	r := f.run(t, "restore", "latest", "--volume-map", vol+"="+dst, "--allow-devices")
	r.expectOK(t)
	if !strings.Contains(r.stdout, "api way") {
		t.Errorf("restore did not go the API way:\n%s", r.stdout)
	}
	v, err := eng.API.VolumeInspect(t.Context(), dst)
	if err != nil {
		t.Fatal(err)
	}
	voltest.Compare(t, voltest.Losses{MtimeNsec: true, Xattrs: true, Holes: true}.Degrade(want), voltest.Scan(t, v.Mountpoint))
	if v.Labels["purpose"] != "remote" {
		t.Errorf("labels = %v", v.Labels)
	}

	// A CA that did not sign the engine's certificate, and no client
	// certificate at all: refused before anything is read.
	other := zktest.WrongCA(t)
	f.env = nil
	f.writeConfig(t, config(withTLS(other, tl.cert, tl.key)))
	f.run(t, "backup").expectFail(t, 1, "certificate")
	f.writeConfig(t, config(fmt.Sprintf("      host: %s\n      tls: {ca_file: %s}\n", tl.host, tl.ca)))
	f.run(t, "backup").expectFail(t, 1, "certificate")
}
