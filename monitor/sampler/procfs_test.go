package sampler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		name        string
		in          string
		total, idle float64
		ncpu        int
		err         string
	}{
		{"full", "cpu  100 20 30 400 50 6 7 8 9 10\ncpu0 50 10 15 200 25 3 3 4 0 0\ncpu1 50 10 15 200 25 3 4 4 0 0\nintr 1 2 3\n", 6.21, 4.5, 2, ""},
		{"old kernel, four states", "cpu 100 0 100 800\ncpu0 100 0 100 800\n", 10, 8, 1, ""},
		{"no aggregate", "cpu0 1 2 3 4\n", 0, 0, 0, "no aggregate"},
		{"no per-cpu", "cpu 1 2 3 4\nintr 0\n", 0, 0, 0, "no per-cpu"},
		{"short", "cpu 1 2\ncpu0 1 2\n", 0, 0, 0, "at least 4"},
		{"garbage", "cpu 1 x 3 4\ncpu0 1 2 3 4\n", 0, 0, 0, "field 2"},
		{"empty", "", 0, 0, 0, "no aggregate"},
	} {
		h, err := ParseProcStat([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !near(h.total, c.total) || !near(h.idle, c.idle) || h.ncpu != c.ncpu {
			t.Errorf("%s: %+v %v, want total %v idle %v ncpu %d", c.name, h, err, c.total, c.idle, c.ncpu)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	total, avail, err := ParseMeminfo([]byte("MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable:   600 kB\nCached: 300 kB\n"))
	if err != nil || total != 1000*1024 || avail != 600*1024 {
		t.Errorf("got %d %d %v", total, avail, err)
	}
	// Before MemAvailable: free + buffers + cached.
	total, avail, err = ParseMeminfo([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 300 kB\n"))
	if err != nil || total != 1000*1024 || avail != 450*1024 {
		t.Errorf("old kernel: got %d %d %v", total, avail, err)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n"} {
		if _, _, err := ParseMeminfo([]byte(bad)); err == nil {
			t.Errorf("ParseMeminfo(%q): no error", bad)
		}
	}
}

func TestParseProcPidStat(t *testing.T) {
	// comm with spaces and a ')' inside; utime 11, stime 12 (fields 14, 15),
	// starttime 99 (22), rss 7 (24).
	line := "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 11 12 0 0 20 0 1 0 99 12345 7 18446744073709551615 0 0\n"
	st, err := ParseProcPidStat([]byte(line))
	if err != nil || st.utime != 11 || st.stime != 12 || st.start != 99 || st.rss != 7 {
		t.Errorf("got %+v %v", st, err)
	}
	for _, bad := range []string{"42 no paren", "42 (x) S 1 2", "42 (x) S 1 42 42 0 -1 4194560 100 0 0 0 x 12 0 0 20 0 1 0 99 12345 7"} {
		if _, err := ParseProcPidStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcPidStat(%q): no error", bad)
		}
	}
}

func TestAtou(t *testing.T) {
	for in, want := range map[string]bool{"0": true, "18446744073709551615": true, "18446744073709551616": false, "": false, "1a": false, "-1": false} {
		if _, ok := atou([]byte(in)); ok != want {
			t.Errorf("atou(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func FuzzProcParsers(f *testing.F) {
	f.Add([]byte("cpu  100 20 30 400 50 6 7 8 9 10\ncpu0 50 10 15 200 25 3 3 4 0 0\n"))
	f.Add([]byte("MemTotal:  1000 kB\nMemAvailable: 600 kB\n"))
	f.Add([]byte("42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 11 12 0 0 20 0 1 0 99 12345 7 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxProcFile {
			return
		}
		if h, err := ParseProcStat(b); err == nil && (h.ncpu <= 0 || h.idle > h.total) {
			t.Fatalf("ParseProcStat accepted %q as %+v", b, h)
		}
		if total, avail, err := ParseMeminfo(b); err == nil && (total == 0 || avail > total && !strings.Contains(string(b), "MemAvailable")) {
			t.Fatalf("ParseMeminfo accepted %q as %d %d", b, total, avail)
		}
		_, _ = ParseProcPidStat(b)
		_, _ = kvValue(b, "usage_usec")
	})
}

// Between full scans only the executors already found are read: one that
// ends is dropped at once, a new one is found at the next scan.
func TestExecutorsBetweenScans(t *testing.T) {
	proc := t.TempDir()
	w := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w("stat", "cpu 100 0 100 800 0 0 0 0\ncpu0 100 0 100 800\n")
	w("meminfo", "MemTotal: 1000000 kB\nMemAvailable: 500000 kB\n")
	executor := func(pid string, utime int) {
		w(pid+"/stat", fmt.Sprintf("%s (gleaner) S 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 555 0 10 0\n", pid, utime))
		w(pid+"/cmdline", "/usr/bin/gleaner\x00executor\x00")
		w(pid+"/cgroup", "4:cpu,cpuacct:/\n")
	}
	executor("100", 50)
	s, err := New(Config{ProcRoot: proc, CgroupRoot: t.TempDir(), ProcScanInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.Read(ctx)
	if err != nil || c.Executors != 1 || !near(c.BatchCPU, 0.5) {
		t.Fatalf("first read: %d executors, batch cpu %v, %v", c.Executors, c.BatchCPU, err)
	}
	executor("100", 150) // it ran; a second executor appears
	executor("200", 10)
	c, _ = s.Read(ctx)
	if c.Executors != 1 || !near(c.BatchCPU, 1.5) {
		t.Errorf("between scans: %d executors, batch cpu %v; want the known one only, at 1.5", c.Executors, c.BatchCPU)
	}
	if err := os.RemoveAll(filepath.Join(proc, "100")); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Read(ctx)
	if c.Executors != 0 {
		t.Errorf("after the known executor ended: %d executors, want 0", c.Executors)
	}
	s.scanAt = time.Time{} // the next scan is due
	c, _ = s.Read(ctx)
	if c.Executors != 1 || !near(c.BatchCPU, 0.1) {
		t.Errorf("after a scan: %d executors, batch cpu %v; want the new one at 0.1", c.Executors, c.BatchCPU)
	}
}

// A kept file is read again from the start and sees new content; one that
// went away is reported, and found again once it is back.
func TestKeptFileRereads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	var r fileReader
	defer r.close()
	if b, err := r.keep(p); err != nil || string(b) != "one" {
		t.Fatalf("first read %q %v", b, err)
	}
	if err := os.WriteFile(p, []byte("two, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := r.keep(p); err != nil || string(b) != "two, longer" {
		t.Fatalf("second read %q %v", b, err)
	}
	if len(r.open) != 0 {
		t.Errorf("%d files kept open, want none (a regular file is read afresh; only procfs files stay open)", len(r.open))
	}
	big := strings.Repeat("x", 40<<10) // beyond the first buffer
	if err := os.WriteFile(p, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := r.keep(p); err != nil || string(b) != big {
		t.Fatalf("big read: %d bytes %v", len(b), err)
	}
}

// keep holds procfs files open between readings, but reads a regular file
// afresh: a fixture replaced by rename must not be read through the old
// inode (the e2e eviction test's host fixture saw its memory never change).
func TestKeepReadsRegularFilesAfresh(t *testing.T) {
	var r fileReader
	defer r.close()
	p := filepath.Join(t.TempDir(), "meminfo")
	for _, want := range []string{"first\n", "second\n"} {
		if err := os.WriteFile(p+".tmp", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
		if b, err := r.keep(p); err != nil || string(b) != want {
			t.Fatalf("keep = %q, %v; want %q", b, err, want)
		}
	}
	if _, err := r.keep("/proc/stat"); err != nil {
		t.Fatal(err)
	}
	if _, kept := r.open["/proc/stat"]; !kept {
		t.Error("/proc/stat was not kept open")
	}
	if _, kept := r.open[p]; kept {
		t.Error("a regular file was kept open")
	}
}
