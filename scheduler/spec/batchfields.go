package spec

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// The batch-model fields of a task (issue 4): retry policy, restart,
// timeout, parallelism, completions, dependency expressions, when,
// continueOn, cleanup, volumes and bundle. Checks that need scheduler/dag
// or scheduler/retry (expression syntax and cycles, failure rules) run
// through the checks those packages register (RegisterCheck): they import
// this package, so it cannot import them.

// batchTaskFields are the task keys parsed here.
var batchTaskFields = []string{"dependsExpr", "when", "continueOn", "backoff", "onFailure", "restart", "timeout",
	"parallelism", "completions", "cleanup", "volumes", "bundle", "workQueue", "withItems", "withSequence"}

// MaxTTLAfterFinished bounds a job's ttlAfterFinished (a year).
const MaxTTLAfterFinished = 365 * 24 * time.Hour

// batchJobFields are the job keys parsed here.
var batchJobFields = []string{"failFast", "params", "deadline", "ttlAfterFinished", "schedule"}

// Cleanup policies (the executor's CleanupPolicy).
var cleanups = []string{"remove-finished", "remove-failed", "remove-all", "remove-none"}

var checks []func(*job.Spec) error

// RegisterCheck adds a whole-spec check run by Validate after its own
// (scheduler/dag registers the dependency graph check, scheduler/retry the
// retry policy check). Call it from an init function.
func RegisterCheck(f func(*job.Spec) error) { checks = append(checks, f) }

func (o obj) boolean(k string) (bool, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, ferr(o.field(k), "must be a boolean, got %s", kind(v))
	}
	return b, nil
}

func (o obj) duration(k string) (job.Duration, error) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return 0, nil
	}
	var d time.Duration
	switch x := v.(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(x); err != nil {
			return 0, ferr(o.field(k), "must be a duration such as \"90s\" or a number of seconds, got %q", x)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e9 {
			return 0, ferr(o.field(k), "out of range: %v seconds", x)
		}
		d = time.Duration(x * float64(time.Second))
	default:
		return 0, ferr(o.field(k), "must be a duration such as \"90s\" or a number of seconds, got %s", kind(v))
	}
	if d < 0 {
		return 0, ferr(o.field(k), "must be >= 0, got %v", d)
	}
	return job.Duration(d), nil
}

// parseDepends reads depends as a list of names or a string: one task name
// or an expression over task outcomes.
func parseDepends(o obj, t *job.TaskSpec) error {
	v, ok := o.m["depends"]
	if !ok || v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return ferr(o.field("depends"), "must not be empty")
		case ValidName(s):
			t.Depends = []string{s}
		default:
			t.DependsExpr = s
		}
		return nil
	}
	var err error
	t.Depends, err = o.strList("depends")
	return err
}

// parseRetries reads retries as a number (the budget) or an object
// {limit, backoff, onFailure}.
func parseRetries(o obj, t *job.TaskSpec) error {
	t.Retries = DefaultRetries
	v, ok := o.m["retries"]
	if !ok || v == nil {
		return nil
	}
	if _, isObj := v.(map[string]any); !isObj {
		r, _, err := o.integer("retries")
		if err != nil {
			return ferr(o.field("retries"), "must be a whole number or an object {limit, backoff, onFailure}")
		}
		t.Retries = r
		return nil
	}
	ro, _ := asObj(o.field("retries"), v)
	if err := ro.known("limit", "backoff", "onFailure"); err != nil {
		return err
	}
	if r, ok, err := ro.integer("limit"); err != nil {
		return err
	} else if ok {
		t.Retries = r
	}
	if _, dup := o.m["backoff"]; dup && ro.m["backoff"] != nil {
		return ferr(o.field("backoff"), "given twice: here and in retries.backoff")
	}
	if _, dup := o.m["onFailure"]; dup && ro.m["onFailure"] != nil {
		return ferr(o.field("onFailure"), "given twice: here and in retries.onFailure")
	}
	return parseRetryParts(ro, t)
}

// parseRetryParts reads backoff and onFailure from o (the task or its
// retries object).
func parseRetryParts(o obj, t *job.TaskSpec) error {
	if bv, ok := o.m["backoff"]; ok && bv != nil {
		bo, err := asObj(o.field("backoff"), bv)
		if err != nil {
			return err
		}
		if err := bo.known("delay", "factor", "max"); err != nil {
			return err
		}
		b := job.Backoff{Factor: 2, Delay: job.Duration(10 * time.Second), Max: job.Duration(5 * time.Minute)}
		if _, ok := bo.m["delay"]; ok {
			if b.Delay, err = bo.duration("delay"); err != nil {
				return err
			}
		}
		if _, ok := bo.m["max"]; ok {
			if b.Max, err = bo.duration("max"); err != nil {
				return err
			}
		}
		if f, ok, err := bo.num("factor"); err != nil {
			return err
		} else if ok {
			if f < 1 {
				return ferr(bo.field("factor"), "must be >= 1, got %v", f)
			}
			b.Factor = f
		}
		t.Backoff = &b
	}
	if fv, ok := o.m["onFailure"]; ok && fv != nil {
		path := o.field("onFailure")
		// A list of rules, or {rules: [...]} as in retry.FailurePolicy.
		if m, ok := fv.(map[string]any); ok {
			fo := obj{path, m}
			if err := fo.known("rules"); err != nil {
				return err
			}
			fv, path = m["rules"], fo.field("rules")
		}
		l, ok := fv.([]any)
		if !ok {
			return ferr(path, "must be a list of rules {action, exitCodes, notIn, signals}, got %s", kind(fv))
		}
		for i, rv := range l {
			ro, err := asObj(fmt.Sprintf("%s[%d]", path, i), rv)
			if err != nil {
				return err
			}
			if err := ro.known("action", "exitCodes", "notIn", "signals"); err != nil {
				return err
			}
			var r job.FailureRule
			if r.Action, _, err = ro.str("action"); err != nil {
				return err
			}
			if r.NotIn, err = ro.boolean("notIn"); err != nil {
				return err
			}
			if r.Signals, err = ro.strList("signals"); err != nil {
				return err
			}
			if cv, ok := ro.m["exitCodes"]; ok && cv != nil {
				cl, ok := cv.([]any)
				if !ok {
					return ferr(ro.field("exitCodes"), "must be a list of exit codes, got %s", kind(cv))
				}
				for j, c := range cl {
					f, ok := c.(float64)
					if !ok || f != math.Trunc(f) {
						return ferr(fmt.Sprintf("%s[%d]", ro.field("exitCodes"), j), "must be a whole number, got %v", c)
					}
					r.ExitCodes = append(r.ExitCodes, int(f))
				}
			}
			t.OnFailure = append(t.OnFailure, r)
		}
	}
	return nil
}

func parseBatchTask(o obj, t *job.TaskSpec) error {
	var err error
	if err = parseDepends(o, t); err != nil {
		return err
	}
	// dependsExpr is the stored form of an expression in depends, read
	// back so a stored spec parses again.
	if x, ok, err := o.str("dependsExpr"); err != nil {
		return err
	} else if ok {
		if _, both := o.m["depends"]; both {
			return ferr(o.field("dependsExpr"), "give depends or dependsExpr, not both")
		}
		t.DependsExpr = x
	}
	if err = parseRetries(o, t); err != nil {
		return err
	}
	if _, isObj := o.m["retries"].(map[string]any); !isObj {
		if err = parseRetryParts(o, t); err != nil {
			return err
		}
	} else if err = parseRetryParts(obj{o.path, map[string]any{"backoff": o.m["backoff"], "onFailure": o.m["onFailure"]}}, t); err != nil {
		return err
	}
	if t.When, _, err = o.str("when"); err != nil {
		return err
	}
	if t.ContinueOn, err = o.boolean("continueOn"); err != nil {
		return err
	}
	if t.Restart, _, err = o.str("restart"); err != nil {
		return err
	}
	if t.Timeout, err = o.duration("timeout"); err != nil {
		return err
	}
	if t.Parallelism, _, err = o.integer("parallelism"); err != nil {
		return err
	}
	if t.Completions, _, err = o.integer("completions"); err != nil {
		return err
	}
	if t.Cleanup, _, err = o.str("cleanup"); err != nil {
		return err
	}
	if vv, ok := o.m["volumes"]; ok && vv != nil {
		l, ok := vv.([]any)
		if !ok {
			return ferr(o.field("volumes"), "must be a list of {host, container, readOnly}, got %s", kind(vv))
		}
		for i, e := range l {
			vo, err := asObj(fmt.Sprintf("%s[%d]", o.field("volumes"), i), e)
			if err != nil {
				return err
			}
			if err := vo.known("host", "container", "readOnly"); err != nil {
				return err
			}
			var v job.Volume
			if v.Host, _, err = vo.str("host"); err != nil {
				return err
			}
			if v.Container, _, err = vo.str("container"); err != nil {
				return err
			}
			if v.ReadOnly, err = vo.boolean("readOnly"); err != nil {
				return err
			}
			t.Volumes = append(t.Volumes, v)
		}
	}
	if iv, ok := o.m["withItems"]; ok && iv != nil {
		l, ok := iv.([]any)
		if !ok || len(l) == 0 {
			return ferr(o.field("withItems"), "must be a non-empty list, got %s", kind(iv))
		}
		t.WithItems = l
	}
	if sv, ok := o.m["withSequence"]; ok && sv != nil {
		so, err := asObj(o.field("withSequence"), sv)
		if err != nil {
			return err
		}
		if err := so.known("start", "end", "count", "format"); err != nil {
			return err
		}
		var q job.Sequence
		if q.Start, _, err = so.integer("start"); err != nil {
			return err
		}
		if v, ok, err := so.integer("end"); err != nil {
			return err
		} else if ok {
			q.End = &v
		}
		if v, ok, err := so.integer("count"); err != nil {
			return err
		} else if ok {
			q.Count = &v
		}
		if q.Format, _, err = so.str("format"); err != nil {
			return err
		}
		if (q.End == nil) == (q.Count == nil) {
			return ferr(so.path, "give end or count")
		}
		if q.Count != nil && (*q.Count < 1 || *q.Count > MaxInstances) {
			return ferr(so.field("count"), "must be between 1 and %d, got %d", MaxInstances, *q.Count)
		}
		if t.WithItems != nil {
			return ferr(so.path, "give withItems or withSequence, not both")
		}
		t.WithSequence = &q
	}
	if qv, ok := o.m["workQueue"]; ok && qv != nil {
		qo, err := asObj(o.field("workQueue"), qv)
		if err != nil {
			return err
		}
		if err := qo.known("items", "pattern"); err != nil {
			return err
		}
		var q job.WorkQueue
		if q.Items, err = qo.strList("items"); err != nil {
			return err
		}
		if q.Pattern, _, err = qo.str("pattern"); err != nil {
			return err
		}
		if q.Pattern == "" {
			q.Pattern = job.QueuePerItem
		}
		t.WorkQueue = &q
	}
	if bv, ok := o.m["bundle"]; ok && bv != nil {
		bo, err := asObj(o.field("bundle"), bv)
		if err != nil {
			return err
		}
		if err := bo.known("uri", "digest"); err != nil {
			return err
		}
		var b job.Bundle
		if b.URI, _, err = bo.str("uri"); err != nil {
			return err
		}
		if b.Digest, _, err = bo.str("digest"); err != nil {
			return err
		}
		t.Bundle = &b
	}
	return nil
}

func parseBatchJob(o obj, s *job.Spec) error {
	// A perItem work queue runs one instance per item unless instances
	// says otherwise.
	tl, _ := o.m["tasks"].([]any)
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if n := loopLen(t); n > 0 && i < len(tl) {
			if m, ok := tl[i].(map[string]any); ok {
				if _, given := m["instances"]; !given {
					t.Instances = n
				}
			}
		}
		if t.WorkQueue == nil || t.WorkQueue.Pattern != job.QueuePerItem || i >= len(tl) {
			continue
		}
		if m, ok := tl[i].(map[string]any); ok {
			if _, given := m["instances"]; !given && len(t.WorkQueue.Items) > 0 {
				t.Instances = len(t.WorkQueue.Items)
			}
		}
	}
	var err error
	if s.FailFast, err = o.boolean("failFast"); err != nil {
		return err
	}
	if s.Params, err = o.strMap("params"); err != nil {
		return err
	}
	if s.Deadline, err = o.duration("deadline"); err != nil {
		return err
	}
	if s.TTLAfterFinished, err = o.duration("ttlAfterFinished"); err != nil {
		return err
	}
	if sv, ok := o.m["schedule"]; ok && sv != nil {
		so, err := asObj("schedule", sv)
		if err != nil {
			return err
		}
		if err := so.known("cron", "timezone", "concurrency", "startingDeadline", "suspend", "successfulRunsHistoryLimit", "failedRunsHistoryLimit"); err != nil {
			return err
		}
		var sc job.Schedule
		if sc.Cron, _, err = so.str("cron"); err != nil {
			return err
		}
		if sc.Cron == "" {
			return ferr("schedule.cron", "required")
		}
		if sc.Timezone, _, err = so.str("timezone"); err != nil {
			return err
		}
		if sc.Concurrency, _, err = so.str("concurrency"); err != nil {
			return err
		}
		if sc.StartingDeadline, err = so.duration("startingDeadline"); err != nil {
			return err
		}
		if sc.Suspend, err = so.boolean("suspend"); err != nil {
			return err
		}
		for _, h := range []struct {
			k   string
			dst **int
		}{{"successfulRunsHistoryLimit", &sc.SuccessfulRunsHistoryLimit}, {"failedRunsHistoryLimit", &sc.FailedRunsHistoryLimit}} {
			if n, ok, err := so.integer(h.k); err != nil {
				return err
			} else if ok {
				*h.dst = &n
			}
		}
		s.Schedule = &sc
	}
	return nil
}

// validateBatch checks the batch-model fields of a spec built in code or
// parsed, then runs the registered checks.
func validateBatch(s *job.Spec) error {
	if s.Deadline < 0 {
		return ferr("deadline", "must be >= 0")
	}
	if s.TTLAfterFinished < 0 || time.Duration(s.TTLAfterFinished) > MaxTTLAfterFinished {
		return ferr("ttlAfterFinished", "must be between 0 and %s, got %s", MaxTTLAfterFinished, time.Duration(s.TTLAfterFinished))
	}
	for k := range s.Params {
		if k == "" {
			return ferr("params", "empty parameter name")
		}
	}
	queued := -1
	for i := range s.Tasks {
		t := &s.Tasks[i]
		p := fmt.Sprintf("tasks[%d]", i)
		if t.WorkQueue != nil {
			if queued >= 0 {
				return ferr(p+".workQueue", "only one task of a job may have a work queue (tasks[%d] has it)", queued)
			}
			queued = i
		}
		if t.DependsExpr != "" && len(t.Depends) > 0 {
			return ferr(p+".depends", "give a list or an expression, not both")
		}
		if err := CheckExpr(p+".depends", t.DependsExpr); err != nil {
			return err
		}
		if err := CheckExpr(p+".when", t.When); err != nil {
			return err
		}
		switch t.Restart {
		case "", "Never", "OnFailure", "Always":
		default:
			return ferr(p+".restart", "must be Never, OnFailure or Always, got %q", t.Restart)
		}
		if t.Timeout < 0 {
			return ferr(p+".timeout", "must be >= 0")
		}
		if t.Parallelism < 0 {
			return ferr(p+".parallelism", "must be >= 0 (0 = no cap), got %d", t.Parallelism)
		}
		if t.Completions < 0 || t.Completions > t.Instances {
			return ferr(p+".completions", "must be between 0 and instances (%d), got %d", t.Instances, t.Completions)
		}
		if t.Cleanup != "" && !contains(cleanups, t.Cleanup) {
			return ferr(p+".cleanup", "must be one of %s, got %q", strings.Join(cleanups, ", "), t.Cleanup)
		}
		for j, v := range t.Volumes {
			vp := fmt.Sprintf("%s.volumes[%d]", p, j)
			if !strings.HasPrefix(v.Host, "/") {
				return ferr(vp+".host", "must be an absolute path, got %q", v.Host)
			}
			if !strings.HasPrefix(v.Container, "/") {
				return ferr(vp+".container", "must be an absolute path, got %q", v.Container)
			}
		}
		if q := t.WorkQueue; q != nil {
			if len(q.Items) == 0 {
				return ferr(p+".workQueue.items", "required: at least one item")
			}
			if q.Pattern != job.QueuePerItem && q.Pattern != job.QueueWorkers {
				return ferr(p+".workQueue.pattern", "must be perItem or workers, got %q", q.Pattern)
			}
			for j, it := range q.Items {
				if len(it) > 64<<10 {
					return ferr(fmt.Sprintf("%s.workQueue.items[%d]", p, j), "larger than 64 KiB")
				}
			}
		}
		if t.Bundle != nil {
			if t.Bundle.URI == "" {
				return ferr(p+".bundle.uri", "required")
			}
			if t.Bundle.Digest != "" && !strings.HasPrefix(t.Bundle.Digest, "sha256:") {
				return ferr(p+".bundle.digest", "must be sha256:<hex>, got %q", t.Bundle.Digest)
			}
		}
	}
	for _, c := range checks {
		if err := c(s); err != nil {
			return err
		}
	}
	return nil
}

// loopLen is the number of instances a task's loop makes (0: no loop).
func loopLen(t *job.TaskSpec) int {
	switch q := t.WithSequence; {
	case t.WithItems != nil:
		return len(t.WithItems)
	case q == nil:
		return 0
	case q.Count != nil:
		return *q.Count
	case *q.End >= q.Start:
		return *q.End - q.Start + 1
	default:
		return q.Start - *q.End + 1
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
