package main

import (
	"bufio"
	"math/rand/v2"
	"strconv"
	"time"
)

// The generated build logs look like Zuul's: Ansible task lines, test
// runner and pip output with hashes, JSON results, YAML inventories, HTML
// reports. The mix of words from small vocabularies (compressible) and hex
// ids, numbers and timestamps (not) makes zstd -3 store about 35% of it,
// as it does for the real logs issue 12 measured.
var (
	tasks = []string{"configure-mirrors : Install apt mirror config", "ensure-tox : Install tox", "fetch-output : Collect logs",
		"run-tox : Run tox testenv", "prepare-workspace : Sync repositories", "validate-host : Collect information about the host",
		"emit-job-header : Print job information", "add-build-sshkey : Create Temp SSH key", "start-zuul-console : Start zuul_console daemon",
		"upload-logs-swift : Upload logs to swift", "bindep : Install distro packages", "ensure-pip : Check for pip"}
	modules = []string{"nova.tests.unit.compute.test_compute.ComputeTestCase", "neutron.tests.unit.agent.test_rpc.AgentRPCTestCase",
		"zuul.tests.unit.test_scheduler.TestScheduler", "cinder.tests.unit.volume.test_volume.VolumeTestCase",
		"keystone.tests.unit.test_v3_auth.TestTokenRevoke", "glance.tests.functional.v2.test_images.TestImages"}
	packages = []string{"oslo.config", "oslo.messaging", "requests", "urllib3", "PyYAML", "SQLAlchemy", "alembic", "stestr", "coverage",
		"keystoneauth1", "python-novaclient", "eventlet", "greenlet", "cryptography", "cffi", "Jinja2", "MarkupSafe", "pbr", "six"}
	verbs = []string{"ok", "changed", "skipping", "ok", "ok", "included", "FAILED", "ok", "changed"}
	words = []string{"the", "build", "node", "ubuntu-jammy", "controller", "tox", "python3", "venv", "install", "running", "test",
		"collected", "passed", "warning", "deprecated", "config", "service", "started", "stopped", "waiting", "for", "timeout",
		"connection", "retrying", "success", "result", "output", "file", "directory", "created", "removed", "log", "upload"}
	hosts = []string{"ubuntu-jammy", "controller", "compute1", "ubuntu-noble", "centos-9-stream", "debian-bookworm"}
)

// textWriter writes one kind of log text with a clock that moves forward.
type textWriter struct {
	w     *bufio.Writer
	r     *rand.Rand
	clock time.Time
	buf   []byte
}

func newTextWriter(w *bufio.Writer, r *rand.Rand, start time.Time) *textWriter {
	return &textWriter{w: w, r: r, clock: start, buf: make([]byte, 0, 512)}
}

func (t *textWriter) pick(list []string) string { return list[t.r.IntN(len(list))] }

func (t *textWriter) hex(n int) {
	const digits = "0123456789abcdef"
	for n > 0 {
		v := t.r.Uint64()
		for i := 0; i < 16 && n > 0; i, n = i+1, n-1 {
			t.buf = append(t.buf, digits[v&15])
			v >>= 4
		}
	}
}

func (t *textWriter) stamp() {
	t.clock = t.clock.Add(time.Duration(t.r.IntN(400_000)) * time.Microsecond)
	t.buf = t.clock.AppendFormat(t.buf, "2006-01-02 15:04:05.000000")
}

func (t *textWriter) words(n int) {
	for range n {
		t.buf = append(t.buf, ' ')
		switch t.r.IntN(6) {
		case 0, 1, 2:
			t.hex(8 + t.r.IntN(25))
		case 3:
			t.buf = strconv.AppendInt(t.buf, int64(t.r.IntN(100000)), 10)
		default:
			t.buf = append(t.buf, t.pick(words)...)
		}
	}
}

// jobOutputLine is one line of job-output.txt.
func (t *textWriter) jobOutputLine() {
	t.stamp()
	switch k := t.r.IntN(10); {
	case k == 0:
		t.buf = append(t.buf, " | TASK ["...)
		t.buf = append(t.buf, t.pick(tasks)...)
		t.buf = append(t.buf, ']')
	case k < 3:
		t.buf = append(t.buf, " | "...)
		t.buf = append(t.buf, t.pick(hosts)...)
		t.buf = append(t.buf, " | {"...)
		t.buf = strconv.AppendInt(t.buf, int64(t.r.IntN(8)), 10)
		t.buf = append(t.buf, "} "...)
		t.buf = append(t.buf, t.pick(modules)...)
		t.buf = append(t.buf, ".test_"...)
		t.buf = append(t.buf, t.pick(words)...)
		t.buf = append(t.buf, '_')
		t.hex(6)
		t.buf = append(t.buf, " ["...)
		t.buf = strconv.AppendFloat(t.buf, t.r.Float64()*4, 'f', 6, 64)
		t.buf = append(t.buf, "s] ... ok"...)
	case k < 4:
		t.buf = append(t.buf, " | "...)
		t.buf = append(t.buf, t.pick(hosts)...)
		t.buf = append(t.buf, " |   Downloading https://mirror.dfw.rax.opendev.org/pypi/packages/"...)
		t.hex(2)
		t.buf = append(t.buf, '/')
		t.hex(2)
		t.buf = append(t.buf, '/')
		t.hex(60)
		t.buf = append(t.buf, '/')
		t.buf = append(t.buf, t.pick(packages)...)
		t.buf = append(t.buf, "-1."...)
		t.buf = strconv.AppendInt(t.buf, int64(t.r.IntN(40)), 10)
		t.buf = append(t.buf, ".0-py3-none-any.whl ("...)
		t.buf = strconv.AppendInt(t.buf, int64(t.r.IntN(900)+10), 10)
		t.buf = append(t.buf, " kB)"...)
	case k < 6:
		t.buf = append(t.buf, " | "...)
		t.buf = append(t.buf, t.pick(hosts)...)
		t.buf = append(t.buf, " | "...)
		t.buf = append(t.buf, t.pick(verbs)...)
		t.buf = append(t.buf, ": Runtime: 0:00:0"...)
		t.buf = strconv.AppendFloat(t.buf, t.r.Float64()*9, 'f', 6, 64)
	default:
		t.buf = append(t.buf, " | "...)
		t.buf = append(t.buf, t.pick(hosts)...)
		t.buf = append(t.buf, " |"...)
		t.words(4 + t.r.IntN(14))
	}
	t.flush()
}

// jsonLine is one record of job-output.json.
func (t *textWriter) jsonLine() {
	t.buf = append(t.buf, `{"task": {"name": "`...)
	t.buf = append(t.buf, t.pick(tasks)...)
	t.buf = append(t.buf, `", "id": "`...)
	t.hex(12)
	t.buf = append(t.buf, `-`...)
	t.hex(20)
	t.buf = append(t.buf, `", "duration": {"start": "`...)
	t.stamp()
	t.buf = append(t.buf, `"}}, "hosts": {"`...)
	t.buf = append(t.buf, t.pick(hosts)...)
	t.buf = append(t.buf, `": {"changed": false, "action": "command", "rc": 0, "stdout":"`...)
	t.words(4 + t.r.IntN(12))
	t.buf = append(t.buf, `", "checksum": "`...)
	t.hex(64)
	t.buf = append(t.buf, `"}}},`...)
	t.flush()
}

// yamlLine is one line of an inventory, host-info or HTML report.
func (t *textWriter) yamlLine() {
	t.buf = append(t.buf, "    "...)
	t.buf = append(t.buf, t.pick(words)...)
	t.buf = append(t.buf, '_')
	t.buf = append(t.buf, t.pick(words)...)
	t.buf = append(t.buf, ": "...)
	if t.r.IntN(3) == 0 {
		t.hex(8 + t.r.IntN(32))
	} else {
		t.words(1 + t.r.IntN(5))
	}
	t.flush()
}

func (t *textWriter) flush() {
	t.buf = append(t.buf, '\n')
	t.w.Write(t.buf)
	t.buf = t.buf[:0]
}
