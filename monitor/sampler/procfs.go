package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// maxProcFile bounds what is read of one procfs or cgroup file (/proc/stat
// of a 1,000-cpu host is well below it).
const maxProcFile = 1 << 20

// fileReader reads small files into one reused buffer, so a sample
// allocates nearly nothing. Files read with keep stay open and are read
// again from offset 0 (procfs regenerates them on every read), which saves
// an open and a close per reading.
type fileReader struct {
	buf  []byte
	open map[string]*os.File
}

// read returns the file's content, valid until the next read.
func (r *fileReader) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return r.readAt(f, path)
}

// keep reads a file that stays open between readings (host procfs files,
// which never go away); after an error it is opened again once.
func (r *fileReader) keep(path string) ([]byte, error) {
	if f, ok := r.open[path]; ok {
		if b, err := r.readAt(f, path); err == nil {
			return b, nil
		}
		f.Close()
		delete(r.open, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	b, err := r.readAt(f, path)
	if err != nil || !onProcfs(f) {
		// Only procfs regenerates a file under an open descriptor: a
		// regular file (a fixture root, a file replaced by rename) is
		// read afresh every time.
		f.Close()
		return b, err
	}
	if r.open == nil {
		r.open = map[string]*os.File{}
	}
	r.open[path] = f
	return b, nil
}

// procSuperMagic is procfs' f_type (linux/magic.h PROC_SUPER_MAGIC).
const procSuperMagic = 0x9fa0

// onProcfs reports whether f lives on procfs.
func onProcfs(f *os.File) bool {
	var st syscall.Statfs_t
	return syscall.Fstatfs(int(f.Fd()), &st) == nil && st.Type == procSuperMagic
}

// close closes the files kept open.
func (r *fileReader) close() {
	for p, f := range r.open {
		f.Close()
		delete(r.open, p)
	}
}

// readAt reads f from offset 0 into the buffer.
func (r *fileReader) readAt(f *os.File, path string) ([]byte, error) {
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= maxProcFile {
				return nil, fmt.Errorf("read %s: larger than %d bytes", path, maxProcFile)
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := f.ReadAt(r.buf[n:], int64(n))
		n += m
		if errors.Is(err, io.EOF) || (err == nil && m == 0) {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// hostCPU is the aggregate line of /proc/stat in cpu seconds (busy states
// and idle + iowait) and the number of per-cpu lines (logical cpus).
type hostCPU struct {
	total, idle float64
	ncpu        int
}

// ParseProcStat reads the "cpu " line (user nice system idle iowait irq
// softirq steal; guest time is already inside user and nice) and counts the
// "cpuN" lines.
func ParseProcStat(b []byte) (hostCPU, error) {
	var h hostCPU
	found := false
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if !bytes.HasPrefix(line, []byte("cpu")) {
			if found {
				break // the cpu lines come first
			}
			continue
		}
		if len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			h.ncpu++
			continue
		}
		var v [8]uint64
		fields := line[3:]
		for i := range v {
			fields = bytes.TrimLeft(fields, " ")
			j := bytes.IndexByte(fields, ' ')
			if j < 0 {
				j = len(fields)
			}
			if j == 0 {
				if i < 4 {
					return h, fmt.Errorf("/proc/stat cpu line: %d fields, want at least 4", i)
				}
				break // older kernels: fewer states
			}
			n, ok := atou(fields[:j])
			if !ok {
				return h, fmt.Errorf("/proc/stat cpu field %d: %q is not a number", i+1, fields[:j])
			}
			v[i], fields = n, fields[j:]
		}
		var sum uint64
		for _, x := range v {
			sum += x
		}
		h.total = float64(sum) / clockTicks
		h.idle = float64(v[3]+v[4]) / clockTicks
		found = true
	}
	if !found {
		return h, errors.New("/proc/stat: no aggregate cpu line")
	}
	if h.ncpu == 0 {
		return h, errors.New("/proc/stat: no per-cpu lines")
	}
	return h, nil
}

// ParseMeminfo returns MemTotal and MemAvailable in bytes (MemAvailable
// estimated as MemFree + Buffers + Cached on kernels before 3.14).
func ParseMeminfo(b []byte) (total, available uint64, err error) {
	var free, buffers, cached uint64
	haveAvail := false
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k := bytes.IndexByte(line, ':')
		if k < 0 {
			continue
		}
		var dst *uint64
		switch string(line[:k]) { // no allocation: the compiler compares in place
		case "MemTotal":
			dst = &total
		case "MemAvailable":
			dst, haveAvail = &available, true
		case "MemFree":
			dst = &free
		case "Buffers":
			dst = &buffers
		case "Cached":
			dst = &cached
		default:
			continue
		}
		f := bytes.TrimSpace(line[k+1:])
		f = bytes.TrimSuffix(f, []byte(" kB"))
		n, ok := atou(bytes.TrimSpace(f))
		if !ok {
			return 0, 0, fmt.Errorf("/proc/meminfo %s: %q is not a number", line[:k], f)
		}
		*dst = n * 1024
	}
	if total == 0 {
		return 0, 0, errors.New("/proc/meminfo: no MemTotal")
	}
	if !haveAvail {
		available = min(free+buffers+cached, total)
	}
	return total, available, nil
}

// kvValue finds "key value" in a cgroup stat file (memory.stat, cpu.stat)
// without building a map; ok is false when the key is absent.
func kvValue(b []byte, key string) (uint64, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > len(key) && line[len(key)] == ' ' && string(line[:len(key)]) == key {
			return atou(bytes.TrimSpace(line[len(key)+1:]))
		}
	}
	return 0, false
}

// atou parses a decimal uint64 without allocating.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false // overflow
		}
		n = n*10 + d
	}
	return n, true
}
