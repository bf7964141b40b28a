package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func jobPath(id string) string { return "/v1/jobs/" + url.PathEscape(id) }

// Submit sends a job spec (YAML or JSON, as `gleaner job submit -f` reads
// it) and returns the new job's ID. A refused spec is an *APIError
// matching ErrBadRequest whose Field names the field.
func (c *Client) Submit(ctx context.Context, spec []byte) (Submitted, error) {
	var out Submitted
	err := c.call(ctx, request{method: "POST", path: "/v1/jobs", body: spec, contentType: "application/yaml"}, &out)
	return out, err
}

// Plan validates a spec and checks its placement against the live agents
// without submitting it (POST /v1/jobs?dryRun=true).
func (c *Client) Plan(ctx context.Context, spec []byte) (Plan, error) {
	var out Plan
	err := c.call(ctx, request{method: "POST", path: "/v1/jobs", query: url.Values{"dryRun": {"true"}}, body: spec, contentType: "application/yaml"}, &out)
	return out, err
}

// Get returns a job's status, with why its pending instances wait.
func (c *Client) Get(ctx context.Context, id string) (JobView, error) {
	var out JobView
	err := c.call(ctx, request{method: "GET", path: jobPath(id)}, &out)
	return out, err
}

// Spec returns the spec a job was submitted with, as stored.
func (c *Client) Spec(ctx context.Context, id string) (job.Spec, error) {
	var out job.Spec
	err := c.call(ctx, request{method: "GET", path: jobPath(id) + "/spec"}, &out)
	return out, err
}

// ListOptions filter GET /v1/jobs; the zero value lists every job.
type ListOptions struct {
	// States keeps jobs in one of these states (job.Running, …).
	States []job.State
	// Since keeps jobs submitted at or after it.
	Since time.Time
	// Labels keeps jobs carrying every one of these labels.
	Labels map[string]string
	// Limit keeps the newest Limit jobs of those matching (0: all).
	Limit int
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	for _, s := range o.States {
		q.Add("state", string(s))
	}
	if !o.Since.IsZero() {
		q.Set("since", o.Since.UTC().Format(time.RFC3339))
	}
	for k, v := range o.Labels {
		q.Add("label", k+"="+v)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// List returns the jobs matching o, in submission order.
func (c *Client) List(ctx context.Context, o ListOptions) ([]JobSummary, error) {
	var out []JobSummary
	err := c.call(ctx, request{method: "GET", path: "/v1/jobs", query: o.query()}, &out)
	return out, err
}

// Kill asks the scheduler to kill a job.
func (c *Client) Kill(ctx context.Context, id string) (Accepted, error) {
	return c.verb(ctx, "DELETE", jobPath(id), nil)
}

// Suspend stops a job's running instances and starts nothing new until
// Resume.
func (c *Client) Suspend(ctx context.Context, id string) (Accepted, error) {
	return c.verb(ctx, "POST", jobPath(id)+"/suspend", nil)
}

// Resume resumes a suspended job.
func (c *Client) Resume(ctx context.Context, id string) (Accepted, error) {
	return c.verb(ctx, "POST", jobPath(id)+"/resume", nil)
}

// Retry runs the failed part of a finished job again; upstream reruns the
// tasks the failed ones depend on too.
func (c *Client) Retry(ctx context.Context, id string, upstream bool) (Accepted, error) {
	var q url.Values
	if upstream {
		q = url.Values{"upstream": {"true"}}
	}
	return c.verb(ctx, "POST", jobPath(id)+"/retry", q)
}

// RunNow starts a run of a scheduled (cron) job now, outside its
// schedule; Accepted.Run is the new run's ID.
func (c *Client) RunNow(ctx context.Context, id string) (Accepted, error) {
	return c.verb(ctx, "POST", jobPath(id)+"/run-now", nil)
}

func (c *Client) verb(ctx context.Context, method, path string, q url.Values) (Accepted, error) {
	var out Accepted
	err := c.call(ctx, request{method: method, path: path, query: q}, &out)
	return out, err
}

// Instance returns one instance and its attempts.
func (c *Client) Instance(ctx context.Context, id, task string, index int) (Instance, error) {
	var out Instance
	err := c.call(ctx, request{method: "GET", path: jobPath(id) + "/tasks/" + url.PathEscape(task) + "/instances/" + strconv.Itoa(index)}, &out)
	return out, err
}

// InstancesOptions select a page of GET /v1/jobs/{id}/instances.
type InstancesOptions struct {
	// Task keeps one task's instances ("" all); States keeps instances in
	// one of these states.
	Task   string
	States []job.State
	// Offset and Limit page the list (Limit 0: the API's default).
	Offset, Limit int
}

// Instances returns a page of a job's instances, failed first.
func (c *Client) Instances(ctx context.Context, id string, o InstancesOptions) (InstancePage, error) {
	q := url.Values{}
	if o.Task != "" {
		q.Set("task", o.Task)
	}
	for _, s := range o.States {
		q.Add("state", string(s))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out InstancePage
	err := c.call(ctx, request{method: "GET", path: jobPath(id) + "/instances", query: q}, &out)
	return out, err
}

// maxWatchLine bounds one status line of a watch stream.
const maxWatchLine = 16 << 20

// WatchOnce follows one watch stream of a job, calling fn with each
// status, until the stream ends (after a final state, or broken off); it
// returns the last status seen.
func (c *Client) WatchOnce(ctx context.Context, id string, fn func(job.Status)) (job.Status, error) {
	body, err := c.open(ctx, request{method: "GET", path: jobPath(id) + "/watch"})
	if err != nil {
		return job.Status{}, err
	}
	defer body.Close()
	var last job.Status
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), maxWatchLine)
	for sc.Scan() {
		var st job.Status
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			return last, fmt.Errorf("watch %s: decode status line: %w", id, err)
		}
		last = st
		if fn != nil {
			fn(st)
		}
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("watch %s: %w", id, err)
	}
	return last, nil
}

// maxWatchFailures is how many consecutive broken streams Watch accepts.
const maxWatchFailures = 30

// Watch follows a job until it reaches a final state (or ctx ends),
// calling fn with each status, and returns the final status. A stream
// that breaks (a leader change, a restart) is opened again; an error the
// request itself caused (404, 401, 403) is returned at once.
func (c *Client) Watch(ctx context.Context, id string, fn func(job.Status)) (job.Status, error) {
	var last job.Status
	failures := 0
	for {
		st, err := c.WatchOnce(ctx, id, fn)
		if st.ID != "" {
			last = st
			failures = 0
		}
		if last.State.Terminal() {
			return last, nil
		}
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		if err != nil {
			if !retriable(err) {
				return last, err
			}
			if failures++; failures > maxWatchFailures {
				return last, err
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(c.watchRetry):
		}
	}
}

// LogsOptions select an instance's log.
type LogsOptions struct {
	// Stderr reads stderr instead of stdout.
	Stderr bool
	// Follow keeps streaming while the attempt runs.
	Follow bool
	// Attempt is the attempt number (nil: the newest).
	Attempt *int
	// Offset skips the log's first Offset bytes.
	Offset int64
	// Times reads the log's line times instead: one RFC 3339 time per
	// line of the log, in order, when the Gleaner executor received the
	// line (ErrNotFound if the attempt's executor recorded none).
	Times bool
}

// Logs copies an instance's stdout (or stderr) to w as it arrives, until
// the log ends (or, with Follow, the attempt ends), or ctx ends.
func (c *Client) Logs(ctx context.Context, id, task string, index int, o LogsOptions, w io.Writer) error {
	q := url.Values{"stream": {"stdout"}}
	if o.Stderr {
		q.Set("stream", "stderr")
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Attempt != nil {
		q.Set("attempt", strconv.Itoa(*o.Attempt))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.FormatInt(o.Offset, 10))
	}
	if o.Times {
		q.Set("times", "true")
	}
	path := jobPath(id) + "/tasks/" + url.PathEscape(task) + "/instances/" + strconv.Itoa(index) + "/logs"
	body, err := c.open(ctx, request{method: "GET", path: path, query: q})
	if err != nil {
		return err
	}
	defer body.Close()
	fl, _ := w.(interface{ Flush() error })
	buf := make([]byte, 32<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("write log: %w", err)
			}
			if fl != nil {
				_ = fl.Flush()
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read log stream: %w", rerr)
		}
	}
}
