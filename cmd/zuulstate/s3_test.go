package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestS3RoundTrip(t *testing.T) {
	repoYAML, env := s3YAML(t)
	f := newFixture(t, repoYAML)
	f.env = append(f.env, env...)
	r := f.run(t, "config", "check", "--connect")
	r.expectOK(t)
	for _, e := range env {
		if secret := e[strings.Index(e, "=")+1:]; strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatal("config check printed a credential")
		}
	}
	f.run(t, "backup", "--quiet").expectOK(t)
	f.run(t, "verify", "latest", "--deep").expectOK(t)
	target := filepath.Join(f.dir, "restored")
	f.run(t, "restore", "latest", "--paths-dir", target).expectOK(t)
	sameTree(t, f.data, filepath.Join(target, "data"))
	f.run(t, "prune", "--keep-last", "1").expectOK(t)
}

func TestS3BadInput(t *testing.T) {
	repoYAML, env := s3YAML(t)
	f := newFixture(t, repoYAML)
	secret := strings.TrimPrefix(env[1], "ZUULSTATE_S3_SECRET_KEY=")

	t.Run("wrong credentials", func(t *testing.T) {
		f.env = append(f.env[:1], env[0], "ZUULSTATE_S3_SECRET_KEY=wrong-"+secret)
		r := f.run(t, "backup")
		r.expectFail(t, exitStorage, "access")
		if strings.Contains(r.stderr, secret) {
			t.Fatal("error output contains the secret key")
		}
	})
	t.Run("missing bucket", func(t *testing.T) {
		f.writeConfig(t, strings.Replace(repoYAML, "bucket: ", "bucket: no-such-bucket-", 1)+"sources:\n  paths:\n    - {name: d, path: "+f.data+"}\n")
		f.env = append(f.env, env...)
		f.run(t, "backup").expectFail(t, exitStorage, "no-such-bucket-")
	})
	t.Run("unreachable endpoint", func(t *testing.T) {
		lines := strings.Split(repoYAML, "\n")
		for i, l := range lines {
			if strings.Contains(l, "endpoint:") {
				lines[i] = "    endpoint: 127.0.0.1:1"
			}
		}
		f.writeConfig(t, strings.Join(lines, "\n")+"sources:\n  paths:\n    - {name: d, path: "+f.data+"}\n")
		f.env = append(f.env, env...)
		start := time.Now()
		f.run(t, "snapshots").expectFail(t, exitStorage, "127.0.0.1:1")
		if took := time.Since(start); took > 60*time.Second {
			t.Fatalf("took %s to give up on an unreachable endpoint", took)
		}
	})
}
