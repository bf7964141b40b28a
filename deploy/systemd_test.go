package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unit reads a systemd unit's [Service] settings (repeated keys joined by
// a newline).
func unitService(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not key=value", path, line)
		}
		if section == "[Service]" {
			if prev, seen := out[k]; seen {
				v = prev + "\n" + v
			}
			out[k] = v
		}
	}
	return out
}

// The scheduler's unit is hardened at least like the monitor's, and more:
// the scheduler needs no root, no capability, and writes only its state.
func TestSchedulerUnitHardened(t *testing.T) {
	sched := unitService(t, "systemd/gleaner-scheduler.service")
	mon := unitService(t, "systemd/gleaner-monitor.service")
	for _, k := range []string{"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"} {
		if mon[k] == "" {
			t.Fatalf("monitor unit lost %s; this test compares against it", k)
		}
		if sched[k] != mon[k] {
			t.Errorf("scheduler %s=%q, want %q as the monitor's", k, sched[k], mon[k])
		}
	}
	if u := sched["User"]; u == "" || u == "root" || u == "0" {
		t.Errorf("scheduler runs as %q; it needs no root", u)
	}
	want := map[string]string{
		"CapabilityBoundingSet": "", "AmbientCapabilities": "", "ReadWritePaths": "@PREFIX@/var",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
		"SystemCallArchitectures": "native", "SystemCallFilter": "@system-service", "UMask": "0077",
	}
	for k, v := range want {
		got, ok := sched[k]
		if !ok || got != v {
			t.Errorf("scheduler %s=%q (set: %v), want %q", k, got, ok, v)
		}
	}
	if fams := sched["RestrictAddressFamilies"]; strings.Contains(fams, "AF_NETLINK") || !strings.Contains(fams, "AF_INET") {
		t.Errorf("scheduler RestrictAddressFamilies=%q, want IP and unix sockets only", fams)
	}
}

// systemd itself accepts both units as installed (every directive known,
// paths absolute).
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	prefix := t.TempDir()
	for _, d := range []string{"bin", "etc", "var"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, bin := range []string{"gleaner", "gleaner-monitor"} {
		if err := os.WriteFile(filepath.Join(prefix, "bin", bin), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"gleaner-scheduler.service", "gleaner-monitor.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		unit := filepath.Join(prefix, name)
		if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "@PREFIX@", prefix)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
}
