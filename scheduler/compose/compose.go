package compose

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Label prefixes: Gleaner's own, and Aliyun's so existing files run
// unchanged. When both give a key, the values must agree.
var Prefixes = []string{"gleaner.", "aliyun."}

// Cleanup says what happens to an instance's sandbox and rootfs copy when
// it ends.
type Cleanup string

// Cleanup policies (compose label remove_containers).
const (
	RemoveFinished Cleanup = "remove-finished" // default: remove once it ended, succeeded or failed
	RemoveFailed   Cleanup = "remove-failed"   // remove only failed ones (keep successes' output)
	RemoveAll      Cleanup = "remove-all"      // remove every one, also killed and lost
	RemoveNone     Cleanup = "remove-none"     // keep all (for debugging)
)

// Unmapped says what to do with an image that has no bundle in Images.
type Unmapped string

// Unmapped image policies.
const (
	// UnmappedError (the default) rejects the file: running a service on the
	// host's filesystem when its author expected an image is rarely right.
	UnmappedError Unmapped = "error"
	// UnmappedHost runs the service on the agent's own filesystem, with a
	// warning in Result.Warnings.
	UnmappedHost Unmapped = "host"
)

// Options configure Convert.
type Options struct {
	// Name is the job name. Without it, as docker compose names a
	// project: the label project_name, else the top-level name:, else
	// the name of Dir.
	Name string
	// Dir is the directory the compose file was read from ("" for
	// stdin); its base name, made a valid job name, is the last default.
	Dir string
	// Images maps image references to rootfs bundles.
	Images Images
	// Unmapped: what an image without a bundle does (default error).
	Unmapped Unmapped
}

// Volume is a host path bind-mounted into the task.
type Volume struct {
	Host      string `json:"host"`
	Container string `json:"container"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Task is what Convert learned about each task beyond its job.TaskSpec
// (the spec task carries the cleanup policy, volumes and bundle as well).
type Task struct {
	Name    string  // the job.TaskSpec's name
	Service string  // the compose service it came from
	Cleanup Cleanup // remove_containers
	Image   string  // the service's image reference, "" when none
	// Bundle is the image's rootfs bundle, nil when the task runs on the
	// host (no image, or unmapped with UnmappedHost).
	Bundle  *Bundle
	Volumes []Volume
}

// Result is a converted compose file.
type Result struct {
	Spec *job.Spec
	// Tasks parallels Spec.Tasks.
	Tasks []Task
	// Warnings list what was changed or ignored (restart forced to no,
	// unsupported keys, renamed services...).
	Warnings []string
}

// ErrNotBatch is wrapped by the error for a compose file that is not a
// batch job (an online application).
var ErrNotBatch = errors.New("not a batch job")

// IsCompose reports whether data looks like a compose file (a top-level
// services key) rather than a Gleaner spec.
func IsCompose(data []byte) bool {
	js, err := spec.YAMLToJSON("compose file", data)
	if err != nil {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(js, &top) != nil {
		return false
	}
	_, ok := top["services"]
	return ok
}

type conv struct {
	opt  Options
	warn []string
}

func (c *conv) warnf(format string, a ...any) { c.warn = append(c.warn, fmt.Sprintf(format, a...)) }

func ferr(field, format string, a ...any) *fielderr.FieldError {
	return &fielderr.FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Convert turns a compose batch file into a validated job spec. Errors are
// *fielderr.FieldError with the compose path (services.s1.labels.aliyun.scale)
// and wrap ErrNotBatch for files without project_type batch.
func Convert(data []byte, opt Options) (*Result, error) {
	js, err := spec.YAMLToJSON("compose file", data)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, ferr("", "parse compose file: %v", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, ferr("", "compose file must be a mapping")
	}
	c := &conv{opt: opt}
	return c.convert(top)
}

func (c *conv) convert(top map[string]any) (*Result, error) {
	for _, k := range sortedKeys(top) {
		switch {
		case k == "version", k == "services", k == "labels", k == "name", strings.HasPrefix(k, "x-"):
		case k == "volumes", k == "networks":
			c.warnf("%s: ignored (tasks use host-path volumes and the agent's network)", k)
		default:
			return nil, ferr(k, "unknown top-level key")
		}
	}
	if v, ok := top["version"]; ok {
		s := fmt.Sprint(v)
		if !strings.HasPrefix(s, "2") && !strings.HasPrefix(s, "3") {
			return nil, ferr("version", "want a compose file version 2 (or 3), got %q", s)
		}
	}
	labels, err := c.labels("labels", top["labels"])
	if err != nil {
		return nil, err
	}
	pt, ptField, err := prefixed(labels, "labels", "project_type")
	if err != nil {
		return nil, err
	}
	if pt != "batch" {
		got := "no project_type label"
		if ptField != "" {
			got = fmt.Sprintf("%s is %q", ptField, pt)
		}
		return nil, fmt.Errorf("%w: %w", ErrNotBatch, ferr("labels", "not a batch job: want label gleaner.project_type (or aliyun.project_type) \"batch\", %s", got))
	}
	name, err := c.jobName(top, labels)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(labels) {
		if k != "gleaner.project_type" && k != "aliyun.project_type" && k != "gleaner.project_name" && k != "aliyun.project_name" {
			c.warnf("labels.%s: ignored", k)
		}
	}
	svcs, ok := top["services"].(map[string]any)
	if !ok || len(svcs) == 0 {
		return nil, ferr("services", "required: at least one service")
	}
	names := sortedKeys(svcs)
	// Service names become task names: lower case, _ and . → -.
	taskName := map[string]string{}
	byTask := map[string]string{}
	for _, s := range names {
		tn := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(s))
		if !spec.ValidName(tn) {
			return nil, ferr("services."+s, "service name %q cannot be a task name ([a-z0-9-]{1,63})", s)
		}
		if other, dup := byTask[tn]; dup {
			return nil, ferr("services."+s, "service names %q and %q both become task %q", other, s, tn)
		}
		if tn != s {
			c.warnf("services.%s: task named %q", s, tn)
		}
		taskName[s], byTask[tn] = tn, s
	}
	res := &Result{Spec: &job.Spec{Name: name}}
	for _, s := range names {
		t, x, err := c.service("services."+s, s, svcs[s], taskName)
		if err != nil {
			return nil, err
		}
		// The spec holds the cleanup policy, volumes and bundle itself now.
		if x.Cleanup != RemoveFinished {
			t.Cleanup = string(x.Cleanup)
		}
		for _, v := range x.Volumes {
			t.Volumes = append(t.Volumes, job.Volume{Host: v.Host, Container: v.Container, ReadOnly: v.ReadOnly})
		}
		if x.Bundle != nil {
			t.Bundle = &job.Bundle{URI: x.Bundle.URI, Digest: x.Bundle.Digest}
		}
		res.Spec.Tasks = append(res.Spec.Tasks, t)
		res.Tasks = append(res.Tasks, x)
	}
	if err := spec.Validate(res.Spec); err != nil {
		return nil, servicePath(err, res.Tasks)
	}
	res.Warnings = c.warn
	return res, nil
}

// servicePath rewrites a core validation error on tasks[i].x to the
// compose path services.<name>.x (depends → labels.depends).
func servicePath(err error, tasks []Task) error {
	fe, ok := spec.AsFieldError(err)
	if !ok {
		return fmt.Errorf("converted spec: %w", err)
	}
	var i int
	var rest string
	if n, _ := fmt.Sscanf(fe.Field, "tasks[%d]", &i); n == 1 && i >= 0 && i < len(tasks) {
		_, rest, _ = strings.Cut(fe.Field, "]")
		if r, ok := strings.CutPrefix(rest, ".depends"); ok {
			rest = ".labels.depends" + r
		}
		return &fielderr.FieldError{Field: "services." + tasks[i].Service + rest, Msg: fe.Msg}
	}
	return fmt.Errorf("converted spec: %w", err)
}

// Label keys read from a service.
const (
	labelScale   = "scale"
	labelRetry   = "retry_count"
	labelDepends = "depends"
	labelRemove  = "remove_containers"
)

var serviceLabels = []string{labelScale, labelRetry, labelDepends, labelRemove}

func (c *conv) service(path, svc string, v any, taskName map[string]string) (job.TaskSpec, Task, error) {
	t := job.TaskSpec{Name: taskName[svc], Instances: 1, Retries: spec.DefaultRetries,
		Resources: job.Resources{CPUs: spec.DefaultCPUs, Mem: spec.DefaultMem}}
	x := Task{Name: t.Name, Service: svc, Cleanup: RemoveFinished}
	m, ok := v.(map[string]any)
	if !ok {
		return t, x, ferr(path, "must be a mapping")
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "image", "command", "entrypoint", "environment", "labels", "cpu_shares", "mem_limit", "restart", "volumes", "scale":
		case "depends_on", "links":
			c.warnf("%s.%s: ignored (batch tasks wait with the depends label)", path, k)
		default:
			c.warnf("%s.%s: ignored (not supported for batch tasks)", path, k)
		}
	}
	labels, err := c.labels(path+".labels", m["labels"])
	if err != nil {
		return t, x, err
	}
	if s, f, err := prefixed(labels, path+".labels", labelScale); err != nil {
		return t, x, err
	} else if f != "" {
		if t.Instances, err = intLabel(f, s, 1, spec.MaxInstances); err != nil {
			return t, x, err
		}
	}
	if v, ok := m["scale"]; ok && v != nil {
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || n < 1 || n > spec.MaxInstances {
			return t, x, ferr(path+".scale", "must be a whole number 1..%d, got %v", spec.MaxInstances, v)
		}
		if _, f, _ := prefixed(labels, path+".labels", labelScale); f != "" && int(n) != t.Instances {
			return t, x, ferr(path+".scale", "%v disagrees with %s %d", v, f, t.Instances)
		}
		t.Instances = int(n)
	}
	if s, f, err := prefixed(labels, path+".labels", labelRetry); err != nil {
		return t, x, err
	} else if f != "" {
		if t.Retries, err = intLabel(f, s, 0, math.MaxInt32); err != nil {
			return t, x, err
		}
	}
	if s, f, err := prefixed(labels, path+".labels", labelDepends); err != nil {
		return t, x, err
	} else if f != "" {
		for _, d := range strings.Split(s, ",") {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			tn, ok := taskName[d]
			if !ok {
				return t, x, ferr(f, "unknown service %q", d)
			}
			if tn == t.Name {
				return t, x, ferr(f, "service %q depends on itself", d)
			}
			t.Depends = append(t.Depends, tn)
		}
	}
	if s, f, err := prefixed(labels, path+".labels", labelRemove); err != nil {
		return t, x, err
	} else if f != "" {
		switch Cleanup(s) {
		case RemoveFinished, RemoveFailed, RemoveAll, RemoveNone:
			x.Cleanup = Cleanup(s)
		default:
			return t, x, ferr(f, "must be remove-finished, remove-failed, remove-all or remove-none, got %q", s)
		}
	}
	for _, k := range sortedKeys(labels) {
		ours := false
		for _, p := range Prefixes {
			if rest, ok := strings.CutPrefix(k, p); ok {
				ours = true
				known := false
				for _, l := range serviceLabels {
					known = known || rest == l
				}
				if !known {
					c.warnf("%s.labels.%s: ignored", path, k)
				}
			}
		}
		if !ours {
			if t.Labels == nil {
				t.Labels = map[string]string{}
			}
			t.Labels[k] = labels[k]
		}
	}
	if v, ok := m["cpu_shares"]; ok && v != nil {
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || n < 2 || n > 262144 {
			return t, x, ferr(path+".cpu_shares", "must be a whole number 2..262144, got %v", v)
		}
		t.Resources.CPUs = n / 1024
	}
	if v, ok := m["mem_limit"]; ok && v != nil {
		mib, err := MemMiB(v)
		if err != nil {
			return t, x, ferr(path+".mem_limit", "%v", err)
		}
		t.Resources.Mem = mib
	}
	if v, ok := m["restart"]; ok && v != nil && fmt.Sprint(v) != "no" {
		c.warnf("%s.restart: %q forced to no (retries come from the retry_count label)", path, fmt.Sprint(v))
	}
	env, err := c.environment(path+".environment", m["environment"])
	if err != nil {
		return t, x, err
	}
	var image *Bundle
	if v, ok := m["image"]; ok && v != nil {
		ref, ok := v.(string)
		if !ok || ref == "" {
			return t, x, ferr(path+".image", "must be an image reference")
		}
		x.Image = ref
		b, found, err := c.opt.Images.Lookup(ref)
		switch {
		case err != nil:
			return t, x, ferr(path+".image", "%v", err)
		case found:
			image = &b
			x.Bundle = image
		case c.opt.Unmapped == UnmappedHost:
			c.warnf("%s.image: %q has no rootfs bundle; the task runs on the agent's own filesystem", path, ref)
		default:
			return t, x, fmt.Errorf("%w: %w", ErrUnmappedImage, ferr(path+".image", "no rootfs bundle for image %q: add it to the image map (or allow running unmapped images on the host)", ref))
		}
	}
	if image != nil && len(image.Env) > 0 {
		merged := map[string]string{}
		for _, kv := range image.Env {
			k, v, _ := strings.Cut(kv, "=")
			merged[k] = v
		}
		for k, v := range env {
			merged[k] = v
		}
		env = merged
	}
	t.Env = env
	if err := c.command(path, m, image, &t); err != nil {
		return t, x, err
	}
	if x.Volumes, err = c.volumes(path+".volumes", m["volumes"]); err != nil {
		return t, x, err
	}
	return t, x, nil
}

// prefixed reads key under any prefix; both given must agree. field is the
// path of the label that gave the value ("" when absent).
func prefixed(labels map[string]string, path, key string) (val, field string, err error) {
	for _, p := range Prefixes {
		v, ok := labels[p+key]
		if !ok {
			continue
		}
		if field != "" && v != val {
			return "", "", ferr(path+"."+p+key, "%q disagrees with %s %q", v, field, val)
		}
		if field == "" {
			val, field = v, path+"."+p+key
		}
	}
	return val, field, nil
}

func intLabel(field, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return 0, ferr(field, "must be a whole number %d..%d, got %q", lo, hi, s)
	}
	return n, nil
}

// labels reads a mapping or a list of key=value.
func (c *conv) labels(path string, v any) (map[string]string, error) {
	out := map[string]string{}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, val := range x {
			switch val.(type) {
			case string, float64, bool:
				out[k] = fmt.Sprint(val)
			case nil:
				out[k] = ""
			default:
				return nil, ferr(path+"."+k, "must be a string")
			}
		}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, ferr(fmt.Sprintf("%s[%d]", path, i), "must be a key=value string")
			}
			k, val, _ := strings.Cut(s, "=")
			out[k] = val
		}
	default:
		return nil, ferr(path, "must be a mapping or a list of key=value")
	}
	return out, nil
}

func (c *conv) environment(path string, v any) (map[string]string, error) {
	out := map[string]string{}
	add := func(field, k string, val *string) {
		if val == nil {
			c.warnf("%s: %s has no value (compose would take it from the submitting shell); not set", field, k)
			return
		}
		out[k] = unescape(*val)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		for _, k := range sortedKeys(x) {
			switch val := x[k].(type) {
			case string, float64, bool:
				s := fmt.Sprint(val)
				add(path+"."+k, k, &s)
			case nil:
				add(path+"."+k, k, nil)
			default:
				return nil, ferr(path+"."+k, "must be a string")
			}
		}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			field := fmt.Sprintf("%s[%d]", path, i)
			if !ok {
				return nil, ferr(field, "must be a KEY=value string")
			}
			k, val, has := strings.Cut(s, "=")
			if has {
				add(field, k, &val)
			} else {
				add(field, k, nil)
			}
		}
	default:
		return nil, ferr(path, "must be a mapping or a list of KEY=value")
	}
	for k := range out {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, ferr(path, "bad variable name %q", k)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// argv reads a command or entrypoint: a string (shell form) or a list.
func argv(path string, v any) (shell string, list []string, given bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", nil, false, nil
	case string:
		return unescape(x), nil, x != "", nil
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", nil, false, ferr(fmt.Sprintf("%s[%d]", path, i), "must be a string")
			}
			list = append(list, unescape(s))
		}
		return "", list, len(list) > 0, nil
	}
	return "", nil, false, ferr(path, "must be a string or a list of strings")
}

// command applies Docker's rules: the service's entrypoint replaces the
// image's and drops the image's cmd; the service's command replaces the
// cmd. All list forms run as args without a shell; a string command runs
// with /bin/sh -c, after the (shell-quoted) entrypoint.
func (c *conv) command(path string, m map[string]any, image *Bundle, t *job.TaskSpec) error {
	epStr, epList, epGiven, err := argv(path+".entrypoint", m["entrypoint"])
	if err != nil {
		return err
	}
	cmdStr, cmdList, cmdGiven, err := argv(path+".command", m["command"])
	if err != nil {
		return err
	}
	if !epGiven && image != nil {
		epList = image.Entrypoint
		if !cmdGiven {
			cmdList, cmdGiven = image.Cmd, len(image.Cmd) > 0
		}
	}
	switch {
	case epStr != "":
		if cmdGiven {
			c.warnf("%s.command: ignored after a string entrypoint (Docker's shell form)", path)
		}
		t.Command = epStr
	case cmdStr != "":
		t.Command = strings.TrimSpace(shellJoin(epList) + " " + cmdStr)
	case len(epList)+len(cmdList) > 0:
		t.Args = append(append([]string{}, epList...), cmdList...)
	default:
		return ferr(path+".command", "required: give command or entrypoint (or map the image to a bundle with a default command)")
	}
	return nil
}

// unescape applies compose's escape: $$ is a literal $. Other $VAR and
// ${VAR} are left for the task's shell to expand at run time (compose would
// interpolate them from the submitting shell, which a scheduler does not
// have; GLEANER_INDEX and the task's env are what such files mean).
func unescape(s string) string { return strings.ReplaceAll(s, "$$", "$") }

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func (c *conv) volumes(path string, v any) ([]Volume, error) {
	l, ok := v.([]any)
	if v == nil {
		return nil, nil
	}
	if !ok {
		return nil, ferr(path, "must be a list")
	}
	var out []Volume
	for i, e := range l {
		field := fmt.Sprintf("%s[%d]", path, i)
		var vol Volume
		switch x := e.(type) {
		case string:
			parts := strings.Split(x, ":")
			if len(parts) == 1 {
				c.warnf("%s: anonymous volume %q ignored", field, x)
				continue
			}
			if len(parts) > 3 {
				return nil, ferr(field, "want HOST:CONTAINER[:ro|rw], got %q", x)
			}
			vol.Host, vol.Container = parts[0], parts[1]
			if len(parts) == 3 {
				switch parts[2] {
				case "ro":
					vol.ReadOnly = true
				case "rw":
				default:
					return nil, ferr(field, "mode must be ro or rw, got %q", parts[2])
				}
			}
		case map[string]any:
			if typ, _ := x["type"].(string); typ != "bind" {
				return nil, ferr(field+".type", "only bind mounts of host paths are supported, got %q", typ)
			}
			vol.Host, _ = x["source"].(string)
			vol.Container, _ = x["target"].(string)
			vol.ReadOnly, _ = x["read_only"].(bool)
		default:
			return nil, ferr(field, "must be a string or a mapping")
		}
		if !strings.HasPrefix(vol.Host, "/") {
			return nil, ferr(field, "host path %q must be absolute (named volumes are not supported)", vol.Host)
		}
		if !strings.HasPrefix(vol.Container, "/") {
			return nil, ferr(field, "container path %q must be absolute", vol.Container)
		}
		out = append(out, vol)
	}
	return out, nil
}

var memRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$`)

// MemMiB reads a Docker memory size (a byte count, or 512m, 1g, 1.5G,
// 1024k, 100mb) as MiB, rounded up.
func MemMiB(v any) (float64, error) {
	var bytes float64
	switch x := v.(type) {
	case float64:
		bytes = x
	case string:
		m := memRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(x)))
		if m == nil {
			return 0, fmt.Errorf("bad size %q: want a byte count or a number with b, k, m, g or t", x)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		shift := map[string]uint{"": 0, "b": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m[2]]
		bytes = n * float64(uint64(1)<<shift)
	default:
		return 0, fmt.Errorf("must be a size such as 512m, got %T", v)
	}
	if bytes <= 0 || math.IsInf(bytes, 0) || math.IsNaN(bytes) {
		return 0, fmt.Errorf("must be > 0, got %v", v)
	}
	return math.Ceil(bytes / (1 << 20)), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
