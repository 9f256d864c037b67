package repository

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// processOf reads the identity of process pid from /proc, nil when it does
// not exist (or /proc cannot be read).
func processOf(pid int) *Process {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses itself: the fields after it follow the last ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	// After ")": field 3 (state) … field 22 (starttime).
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return nil // a zombie has exited; only its parent has not reaped it yet
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return nil
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return nil
	}
	// The namespace of this process: a pid is looked up in the namespace
	// of the process that reads /proc.
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return nil
	}
	return &Process{Machine: machineID(), Boot: strings.TrimSpace(string(boot)), PIDNamespace: ns, Start: start}
}

// machineID is systemd's (or D-Bus's) machine id, "" when there is none,
// as in many containers.
func machineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b))
		}
	}
	return ""
}
