package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"unicode/utf8"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// Output parameters (issue 14): a task writes small values as files in
// $GLEANER_OUTPUTS (<sandbox>/outputs/<name>); when it ends successfully
// the executor reads them, bounded, and returns them in TaskResult.outputs.

// OutputsEnv names the environment variable holding the directory (as the
// task sees it) where the task writes its output parameters.
const OutputsEnv = "GLEANER_OUTPUTS"

// OutputsDir is the outputs directory's name inside the sandbox.
const OutputsDir = "outputs"

// Bounds of a task's output parameters. They are stored on the attempt
// record in etcd, which the scheduler writes 120 records to a transaction
// under etcd's 1.5 MiB request limit: an attempt's outputs, encoded as
// JSON, stay within 8 KiB.
const (
	// MaxOutputValueBytes bounds one value.
	MaxOutputValueBytes = 4 << 10
	// MaxOutputsBytes bounds all outputs of one attempt together, names
	// and values encoded as the JSON object stored.
	MaxOutputsBytes = 8 << 10
	// MaxOutputs bounds how many outputs one attempt may leave.
	MaxOutputs = 64
)

// outputNameRE is the output name charset (the same as a template
// parameter's, so every output can be referred to).
var outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`)

// ReadOutputs reads the output parameters in dir: every regular file is one
// value, named by the file name. A missing directory means none. Symbolic
// links, directories and other files are refused (the task owns dir; the
// executor never follows a link it left there), as is anything past the
// bounds; the error names the output and the bound.
func ReadOutputs(dir string) (map[string]string, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outputs: open %s: %w", dir, err)
	}
	defer root.Close()
	// Lstat the directory itself: a task may have replaced it by a link.
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("outputs: %s is not a directory", OutputsDir)
	}
	f, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	// Read at most one entry more than allowed: a directory of a million
	// files is refused without listing it all.
	entries, err := f.ReadDir(MaxOutputs + 1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("outputs: list: %w", err)
	}
	if len(entries) > MaxOutputs {
		return nil, fmt.Errorf("outputs: more than %d files in $%s", MaxOutputs, OutputsEnv)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	out := make(map[string]string, len(entries))
	for _, de := range entries {
		name := de.Name()
		if !outputNameRE.MatchString(name) {
			return nil, fmt.Errorf("output %q: the name must match %s", name, outputNameRE)
		}
		if !de.Type().IsRegular() {
			return nil, fmt.Errorf("output %q: not a regular file (%s)", name, de.Type())
		}
		v, err := readBounded(root, name, MaxOutputValueBytes)
		if err != nil {
			return nil, err
		}
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("output %q: not UTF-8 text", name)
		}
		out[name] = v
	}
	if b, _ := json.Marshal(out); len(b) > MaxOutputsBytes {
		return nil, fmt.Errorf("outputs: together %d bytes as JSON, more than %d", len(b), MaxOutputsBytes)
	}
	return out, nil
}

// readBounded reads one output file through root (no link is followed out
// of it), refusing more than limit bytes.
func readBounded(root *os.Root, name string, limit int) (string, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return "", fmt.Errorf("output %q: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("output %q: not a regular file (%s)", name, fi.Mode().Type())
	}
	// O_NONBLOCK: a file swapped for a FIFO after the Lstat cannot block
	// the open; the Stat of the open file decides.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("output %q: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("output %q: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return "", fmt.Errorf("output %q: %w", name, err)
	}
	if len(b) > limit {
		return "", fmt.Errorf("output %q: larger than %d bytes", name, limit)
	}
	return trimNewline(string(b)), nil
}

// trimNewline drops one trailing newline (echo's), so `echo 3 >
// $GLEANER_OUTPUTS/count` gives "3".
func trimNewline(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
		if n := len(s); n > 0 && s[n-1] == '\r' {
			s = s[:n-1]
		}
	}
	return s
}

// makeOutputsDir creates <sandbox>/outputs owned by the task's user and
// returns its host path.
func makeOutputsDir(sandboxDir string, uid, gid uint32) (string, error) {
	dir := filepath.Join(sandboxDir, OutputsDir)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("outputs directory: %w", err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return "", fmt.Errorf("outputs directory owner: %w", err)
	}
	return dir, nil
}

// collectOutputs reads a finished task's output parameters into res; an
// output past a bound fails the task with the error as its message.
func collectOutputs(t *task, res *gleanerpb.TaskResult, state mesos.TaskState, msg string) (mesos.TaskState, string) {
	if t.outputs == "" {
		return state, msg
	}
	outs, err := ReadOutputs(t.outputs)
	if err != nil {
		return mesos.TASK_FAILED, err.Error()
	}
	res.Outputs = outs
	return state, msg
}
