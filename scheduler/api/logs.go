package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/executor/taskdir"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// Logs: GET /v1/jobs/{id}/tasks/{task}/instances/{index}/logs streams an
// attempt's stdout or stderr from its agent. The agent is found through the
// framework's agents table (offer url or GET_AGENTS pid), the sandbox through
// the agent's /state (frameworks[].executors[].directory, completed ones
// too), and the bytes through the agent's /files/read, as a real Mesos agent
// serves them (see logPaths for where each executor writes).

// AgentEndpoints is implemented by a backend that knows the agents' HTTP
// base URLs (node.Node does).
type AgentEndpoints interface {
	AgentEndpoint(agentID string) string
}

// LogTimesSuffix names the file of a log's line times beside it
// (executor.TimesSuffix), served with ?times=true.
const LogTimesSuffix = ".times"

// DefaultAgentPort is assumed for an agent whose endpoint is not known.
const DefaultAgentPort = 5051

var (
	// logPoll is how often a followed log is read again while the attempt
	// runs; logChunk bounds one /files/read.
	logPoll  = 250 * time.Millisecond
	logChunk = 64 << 10
)

var errNoSandbox = errors.New("sandbox not found")

var _ AgentEndpoints = (*node.Node)(nil)

// agentFiles reads one agent's sandboxes.
type agentFiles struct {
	base string // http://host:port
	hc   *http.Client
}

// agentState is the part of an agent's /state that locates sandboxes.
type agentState struct {
	Frameworks          []stateFramework `json:"frameworks"`
	CompletedFrameworks []stateFramework `json:"completed_frameworks"`
}

type stateFramework struct {
	ID                 string          `json:"id"`
	Executors          []stateExecutor `json:"executors"`
	CompletedExecutors []stateExecutor `json:"completed_executors"`
}

type stateExecutor struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Directory      string      `json:"directory"`
	Tasks          []stateTask `json:"tasks"`
	QueuedTasks    []stateTask `json:"queued_tasks"`
	CompletedTasks []stateTask `json:"completed_tasks"`
}

type stateTask struct {
	ID string `json:"id"`
}

// sandbox returns the directory and name of the executor that ran taskID
// for the framework, or errNoSandbox. A live executor wins over a completed
// one (a reused executor ID).
func (st *agentState) sandbox(frameworkID, taskID string) (dir, executorName string, err error) {
	var found *stateExecutor
	has := func(ts []stateTask) bool {
		for _, t := range ts {
			if t.ID == taskID {
				return true
			}
		}
		return false
	}
	look := func(es []stateExecutor) {
		for i := range es {
			e := &es[i]
			if found == nil && e.Directory != "" && (e.ID == taskID || has(e.Tasks) || has(e.QueuedTasks) || has(e.CompletedTasks)) {
				found = e
			}
		}
	}
	for _, fws := range [][]stateFramework{st.Frameworks, st.CompletedFrameworks} {
		for _, fw := range fws {
			if fw.ID != frameworkID {
				continue
			}
			look(fw.Executors)
			look(fw.CompletedExecutors)
		}
	}
	if found == nil {
		return "", "", errNoSandbox
	}
	return found.Directory, found.Name, nil
}

// GleanerExecutorName is the ExecutorInfo name the framework gives the
// Gleaner executor (scheduler/framework).
const GleanerExecutorName = "gleaner-executor"

// logPaths lists where an attempt's stream may be. Under the Gleaner
// executor <sandbox>/stdout is the executor's own log and the task's is
// <sandbox>/tasks/<task id>/stdout; a command executor's task writes
// <sandbox>/stdout.
func logPaths(dir, executorName, taskID, stream string) []string {
	if executorName == GleanerExecutorName {
		return []string{path.Join(dir, "tasks", taskdir.Name(taskID), stream)}
	}
	return []string{path.Join(dir, stream)}
}

func (a *agentFiles) get(ctx context.Context, p string, q url.Values, v any) (int, error) {
	u := a.base + p
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("agent request %s: %w", p, err)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("agent %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, fmt.Errorf("agent %s%s: %s: %s", a.base, p, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("decode agent %s%s: %w", a.base, p, err)
	}
	return resp.StatusCode, nil
}

func (a *agentFiles) state(ctx context.Context) (*agentState, error) {
	var st agentState
	code, err := a.get(ctx, "/state", nil, &st)
	if code == http.StatusNotFound {
		code, err = a.get(ctx, "/slave(1)/state", nil, &st)
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

type fileRead struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

// read returns up to logChunk bytes of file p from offset; found is false
// when the agent has no such file.
func (a *agentFiles) read(ctx context.Context, p string, offset int64) (data []byte, found bool, err error) {
	var fr fileRead
	q := url.Values{"path": {p}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.Itoa(logChunk)}}
	code, err := a.get(ctx, "/files/read", q, &fr)
	if code == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return []byte(fr.Data), true, nil
}

// locate finds the attempt's log file on the agent.
func (a *agentFiles) locate(ctx context.Context, frameworkID, taskID, stream string) (string, error) {
	st, err := a.state(ctx)
	if err != nil {
		return "", err
	}
	dir, execName, err := st.sandbox(frameworkID, taskID)
	if err != nil {
		return "", err
	}
	for _, p := range logPaths(dir, execName, taskID, stream) {
		if _, found, err := a.read(ctx, p, -1); err != nil {
			return "", err
		} else if found {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s of task %s in %s: %w", stream, taskID, dir, errNoSandbox)
}

// agentBase is the agent's HTTP base URL.
func (s *server) agentBase(a *job.Attempt) string {
	if ae, ok := s.b.(AgentEndpoints); ok {
		if u := ae.AgentEndpoint(a.AgentID); u != "" {
			return strings.TrimSuffix(u, "/")
		}
	}
	return "http://" + net.JoinHostPort(a.Hostname, strconv.Itoa(DefaultAgentPort))
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	id, taskName := r.PathValue("id"), r.PathValue("task")
	q := r.URL.Query()
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("index %q is not a non-negative integer", r.PathValue("index")), Field: "index"})
		return
	}
	stream := q.Get("stream")
	if stream == "" {
		stream = "stdout"
	}
	if stream != "stdout" && stream != "stderr" {
		writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("stream must be stdout or stderr, got %q", stream), Field: "stream"})
		return
	}
	want := -1 // the newest
	if v := q.Get("attempt"); v != "" {
		if want, err = strconv.Atoi(v); err != nil || want < 0 {
			writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("attempt %q is not a non-negative integer", v), Field: "attempt"})
			return
		}
	}
	var offset int64
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("offset %q is not a non-negative integer", v), Field: "offset"})
			return
		}
	}
	// times: the log's line times (<stream>.times, one RFC 3339 time per
	// line, written by the Gleaner executor) instead of the log.
	if v := q.Get("times"); v != "" {
		times, err := strconv.ParseBool(v)
		if err != nil {
			writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("times must be true or false, got %q", v), Field: "times"})
			return
		}
		if times {
			stream += LogTimesSuffix
		}
	}
	follow := false
	if v := q.Get("follow"); v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("follow must be true or false, got %q", v), Field: "follow"})
			return
		}
	}
	ctx := r.Context()
	st := s.b.Store()
	j, _, ok := s.lookupInstance(ctx, w, r, id, taskName, index)
	if !ok {
		return
	}
	attempt := func() (*job.Attempt, error) { return instanceAttempt(ctx, st, id, taskName, index, want) }
	a, err := attempt()
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	// A followed instance that has not been placed yet: wait for its
	// attempt while the job may still run it. A poll reads this instance's
	// attempts only; whether the job is over is known from the leader's
	// memory, or derived from all its attempts at most every logJobCheck.
	over := s.jobOver(id)
	for follow && want < 0 && (a == nil || (a.AgentID == "" && a.Hostname == "")) {
		if done, err := over(ctx); err != nil || done {
			break
		}
		if !sleepCtx(ctx, logPoll) {
			return
		}
		if a, err = attempt(); err != nil {
			s.backendErr(w, r, err)
			return
		}
	}
	if a == nil {
		msg := fmt.Sprintf("%s/%s/%d has no attempt yet", id, taskName, index)
		if want >= 0 {
			msg = fmt.Sprintf("%s/%s/%d has no attempt %d", id, taskName, index, want)
		}
		if j.Folded.Has(taskName, index) {
			msg = fmt.Sprintf("%s/%s/%d succeeded and its attempt record was folded away; its agent is no longer known", id, taskName, index)
		}
		writeErr(w, http.StatusNotFound, Error{Error: msg, Field: "attempt"})
		return
	}
	if a.AgentID == "" && a.Hostname == "" {
		writeErr(w, http.StatusConflict, Error{Error: fmt.Sprintf("attempt %d of %s/%s/%d is not on an agent yet", a.Attempt, id, taskName, index), Field: "attempt"})
		return
	}
	fwID, err := st.FrameworkID(ctx)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	var (
		ag     *agentFiles
		taskID string
		file   string
	)
	for {
		// (again for a newer attempt found while waiting)
		ag, taskID = &agentFiles{base: s.agentBase(a), hc: hc}, a.TaskID()
		file, err = ag.locate(ctx, fwID, taskID, stream)
		if err == nil {
			break
		}
		// A followed attempt that has not started yet gets its sandbox soon.
		if !follow || !errors.Is(err, errNoSandbox) || a.State.Terminal() {
			code := http.StatusBadGateway
			if errors.Is(err, errNoSandbox) {
				code = http.StatusNotFound
			}
			writeErr(w, code, Error{Error: fmt.Sprintf("read %s of %s on %s: %v", stream, taskID, ag.base, err), Field: "attempt"})
			return
		}
		if !sleepCtx(ctx, logPoll) {
			return
		}
		if a, err = attempt(); err != nil || a == nil {
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Gleaner-Task-Id", taskID)
	w.Header().Set("X-Gleaner-Agent", ag.base)
	w.Header().Set("X-Gleaner-Log-Path", file)
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	ended := !follow || a.State.Terminal()
	for {
		data, found, err := ag.read(ctx, file, offset)
		if err != nil || !found {
			if err != nil && ctx.Err() == nil {
				s.log.Warn("logs: read from agent", "job", id, "task", taskName, "index", index, "agent", ag.base, "err", err)
			}
			return
		}
		if len(data) > 0 {
			if _, err := w.Write(data); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			offset += int64(len(data))
			continue
		}
		if ended {
			return
		}
		if !sleepCtx(ctx, logPoll) {
			return
		}
		// Read once more after the attempt ended: what it wrote last.
		if cur, err := attempt(); err != nil || cur == nil || cur.Attempt != a.Attempt || cur.State.Terminal() {
			ended = true
		}
	}
}

// instanceAttempt is the instance's attempt number want (-1: the newest),
// nil if it has none; it reads this instance's attempts only.
func instanceAttempt(ctx context.Context, st store.Store, id, task string, index, want int) (*job.Attempt, error) {
	as, err := st.InstanceAttempts(ctx, id, task, index)
	if err != nil {
		return nil, err
	}
	var pick *job.Attempt
	for i := range as {
		if (want < 0 && (pick == nil || as[i].Attempt > pick.Attempt)) || (want >= 0 && as[i].Attempt == want) {
			pick = &as[i]
		}
	}
	return pick, nil
}

// JobScheduling is implemented by a backend that knows in memory whether
// it still schedules a job while it leads (node.Node).
type JobScheduling interface {
	Scheduling(id string) bool
}

var _ JobScheduling = (*node.Node)(nil)

// logJobCheck: a follower waiting for an instance's first placement
// derives the job's state (reading every attempt of the job) at most this
// often when the leader's memory cannot answer (a standby, a job the
// leader no longer schedules).
var logJobCheck = 5 * time.Second

// schedulingKnown is what the leader's memory says of a job.
type schedulingKnown int

const (
	schedulingUnknown schedulingKnown = iota // not the leader
	schedulingYes
	schedulingNo
)

// deriveJobNow decides whether to derive a job's state at this poll: never
// while the leader schedules it; else the first time, and then no more
// often than every.
func deriveJobNow(k schedulingKnown, last, now time.Time, every time.Duration) bool {
	if k == schedulingYes {
		return false
	}
	return last.IsZero() || now.Sub(last) >= every
}

// jobOver returns a check, called at each poll, of whether job id has
// ended.
func (s *server) jobOver(id string) func(ctx context.Context) (bool, error) {
	var last time.Time
	return func(ctx context.Context) (bool, error) {
		k := schedulingUnknown
		if js, ok := s.b.(JobScheduling); ok && s.b.IsLeader() {
			k = schedulingNo
			if js.Scheduling(id) {
				k = schedulingYes
			}
		}
		now := time.Now()
		if !deriveJobNow(k, last, now, logJobCheck) {
			return false, nil
		}
		last = now
		st, _, err := s.status(ctx, id)
		if err != nil {
			return false, err
		}
		return st.State.Terminal(), nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
