package demo

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	rnd "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zuulUID is the uid Zuul's images run as; the certs and keys belong to it.
const zuulUID = 10001

// WriteHostFiles creates the prod host directories under s.ProdRoot(),
// replacing what was there: TLS material, zuul.conf and the tenant
// configuration, Nodepool's SSH key, and the compose files.
func WriteHostFiles(s Setup) error {
	root := s.ProdRoot()
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	ca, err := newCert("Zuul demo CA", nil)
	if err != nil {
		return err
	}
	client, err := newCert("zuul", ca)
	if err != nil {
		return err
	}
	clientKey, err := client.keyPEM()
	if err != nil {
		return err
	}
	sshPriv, sshPub, err := sshKey()
	if err != nil {
		return err
	}
	files := []struct {
		path, content string
		mode          os.FileMode
		owned         bool
	}{
		{"certs/cacert.pem", ca.pem, 0o644, false},
		{"certs/client.pem", client.pem, 0o644, true},
		{"certs/client.key", clientKey, 0o600, true},
		{"zuul_configuration/zuul.conf", zuulConf, 0o640, true},
		{"zuul_configuration/main.yaml", tenantConf, 0o644, false},
		{"zuul_configuration/logging.conf", "[loggers]\nkeys=root\n", 0o644, false},
		{"ssh_keys/nodepool", sshPriv, 0o600, true},
		{"ssh_keys/nodepool.pub", sshPub, 0o644, true},
		{"compose/docker-compose.yml", composeFile, 0o644, false},
		{"compose/.env", "ZUUL_VERSION=10.1.0\nNODEPOOL_VERSION=10.0.0\nMYSQL_PASSWORD=demo-only-not-a-secret\n", 0o600, false},
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			return err
		}
		if f.owned && os.Geteuid() == 0 {
			if err := os.Lchown(p, zuulUID, zuulUID); err != nil {
				return err
			}
		}
	}
	// Operators keep an old config around and a link to the current one.
	return os.Symlink("zuul.conf", filepath.Join(root, "zuul_configuration", "current.conf"))
}

type cert struct {
	tmpl *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

// newCert makes a self-signed CA (parent nil) or a client certificate
// signed by parent.
func newCert(cn string, parent *cert) (*cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	signer := &cert{tmpl: t, key: key}
	if parent == nil {
		t.IsCA, t.BasicConstraintsValid, t.KeyUsage = true, true, x509.KeyUsageCertSign
	} else {
		t.ExtKeyUsage, t.KeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature
		signer = parent
	}
	der, err := x509.CreateCertificate(rand.Reader, t, signer.tmpl, &key.PublicKey, signer.key)
	if err != nil {
		return nil, err
	}
	return &cert{tmpl: t, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, nil
}

// keyPEM is the certificate's private key as PKCS#8 PEM.
func (c *cert) keyPEM() (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// sshKey returns an ed25519 key pair: the private key as PKCS#8 PEM and the
// public key in authorized_keys form.
func sshKey() (priv, pub string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return "", "", err
	}
	var wire bytes.Buffer
	for _, b := range [][]byte{[]byte("ssh-ed25519"), pk} {
		_ = binary.Write(&wire, binary.BigEndian, uint32(len(b)))
		wire.Write(b)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"ssh-ed25519 " + base64.StdEncoding.EncodeToString(wire.Bytes()) + " nodepool@zuul-demo\n", nil
}

// WriteBuildLogs writes the logs of n builds into dir (a log_server
// volume's mountpoint) the way Zuul's upload roles lay them out:
// <uuid[:2]>/<change>/<patchset>/<pipeline>/<job>/<uuid[:7]>/ with the job
// output as text and gzip, the inventory and the manifest, plus a "latest"
// symlink per job. The content is deterministic for a given n.
func WriteBuildLogs(dir string, n int) error {
	r := rnd.New(rnd.NewPCG(uint64(n), 7))
	jobs := []string{"tox-py311", "tox-linters", "zuul-quick-start", "build-docs", "tempest-full"}
	for i := range n {
		uuid := fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
		job := jobs[r.IntN(len(jobs))]
		change, ps := 900000+r.IntN(5000), 1+r.IntN(9)
		rel := filepath.Join(fmt.Sprint(ps), "check", job, uuid[:7]) // below the change's directory
		d := filepath.Join(dir, uuid[:2], fmt.Sprint(change), rel)
		if err := os.MkdirAll(filepath.Join(d, "zuul-info"), 0o755); err != nil {
			return err
		}
		var out strings.Builder
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 37 * time.Minute)
		for line := range 200 + r.IntN(800) {
			fmt.Fprintf(&out, "%s | ubuntu-jammy | TASK [run-tox : Run tox testenv %d] ok: %x\n",
				start.Add(time.Duration(line)*time.Second).Format("2006-01-02 15:04:05.000000"), line, r.Uint64())
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(out.String()))
		if err := zw.Close(); err != nil {
			return err
		}
		for name, content := range map[string]string{
			"job-output.txt":           out.String(),
			"job-output.json.gz":       gz.String(),
			"zuul-info/inventory.yaml": fmt.Sprintf("all:\n  hosts:\n    ubuntu-jammy:\n      nodepool: {provider: cloud-1, id: '%010d'}\n", i),
			"zuul-manifest.json":       fmt.Sprintf(`{"tree": [{"name": "job-output.txt", "mimetype": "text/plain", "size": %d}]}`, out.Len()),
		} {
			p := filepath.Join(d, name)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
			if err := os.Chtimes(p, start, start.Add(time.Hour)); err != nil {
				return err
			}
		}
		latest := filepath.Join(dir, uuid[:2], fmt.Sprint(change), "latest-"+job)
		if err := os.Remove(latest); err != nil && !os.IsNotExist(err) {
			return err
		}
		if err := os.Symlink(rel, latest); err != nil {
			return err
		}
	}
	return nil
}

const zuulConf = `[zookeeper]
hosts=zookeeper:2281
tls_cert=/etc/zuul/certs/client.pem
tls_key=/etc/zuul/certs/client.key
tls_ca=/etc/zuul/certs/cacert.pem

[keystore]
# The project keys in ZooKeeper are encrypted with this: a restored
# instance needs the same password.
password=demo-keystore-password

[scheduler]
tenant_config=/etc/zuul/config/main.yaml

[database]
dburi=mysql+pymysql://zuul:secret@mariadb/zuul
`

const tenantConf = `- tenant:
    name: demo
    source:
      gerrit:
        config-projects:
          - demo/project-config
        untrusted-projects:
          - demo/zuul-jobs
`

const composeFile = `services:
  zuul_scheduler:
    image: quay.io/zuul-ci/zuul-scheduler:10.1.0
    volumes:
      - /opt/zuul/certs:/etc/zuul/certs:ro
      - /opt/zuul/zuul_configuration:/etc/zuul/config:ro
      - /opt/zuul/ssh_keys:/var/lib/zuul/ssh:ro
  zuul_log_server:
    image: httpd:2.4
    volumes:
      - log_server:/usr/local/apache2/htdocs
volumes:
  log_server:
`
