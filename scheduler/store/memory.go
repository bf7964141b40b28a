package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Memory is an in-memory Store: real code for tests and single-process use.
type Memory struct {
	mu       sync.Mutex
	jobs     map[string]job.Job
	revs     map[string]int64 // job id → revision of its last write
	rev      int64
	attempts map[string]map[instanceKey]map[int]job.Attempt // job id → instance → attempt number → attempt
	fwID     string
	watchers map[chan struct{}]string
	fence    func() bool
	// history and followers: attempt changes for WatchAttempts (follow.go).
	history      []AttemptChange
	historyFloor int64 // the last revision forgotten
	followers    map[*memoryFollower]struct{}
	// PutAttemptsCalls counts PutAttempts transactions (for tests of batching).
	PutAttemptsCalls int
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{jobs: map[string]job.Job{}, revs: map[string]int64{}, attempts: map[string]map[instanceKey]map[int]job.Attempt{}, watchers: map[chan struct{}]string{}}
}

// SetFence makes every later write check leader(); false → ErrNotLeader.
func (m *Memory) SetFence(leader func() bool) {
	m.mu.Lock()
	m.fence = leader
	m.mu.Unlock()
}

func (m *Memory) fenced() error {
	if m.fence != nil && !m.fence() {
		return ErrNotLeader
	}
	return nil
}

func (m *Memory) notify(jobID string) {
	for ch, w := range m.watchers {
		if w == "" || w == jobID {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (m *Memory) CreateJob(ctx context.Context, j *job.Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	if _, ok := m.jobs[j.ID]; ok {
		return fmt.Errorf("create job %s: %w", j.ID, ErrExists)
	}
	m.jobs[j.ID] = cloneJob(j)
	m.rev++
	m.revs[j.ID] = m.rev
	m.notify(j.ID)
	return nil
}

// UpdateJob is a compare-and-swap on a per-job revision, as Etcd does on
// the key's ModRevision: change runs without the lock held, on a copy.
func (m *Memory) UpdateJob(ctx context.Context, id string, change func(*job.Job) error) (*job.Job, error) {
	for range MaxUpdateAttempts {
		m.mu.Lock()
		cur, ok := m.jobs[id]
		rev := m.revs[id]
		m.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("update job %s: %w", id, ErrNotFound)
		}
		before, err := json.Marshal(&cur)
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		var j job.Job // a deep copy: change may touch any slice or map
		if err := json.Unmarshal(before, &j); err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if err := change(&j); err != nil {
			return nil, err
		}
		after, err := json.Marshal(&j)
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if bytes.Equal(before, after) {
			return &j, nil
		}
		m.mu.Lock()
		if err := m.fenced(); err != nil {
			m.mu.Unlock()
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if _, ok := m.jobs[id]; ok && m.revs[id] == rev {
			m.rev++
			m.revs[id] = m.rev
			var stored job.Job
			if err := json.Unmarshal(after, &stored); err != nil {
				m.mu.Unlock()
				return nil, fmt.Errorf("update job %s: %w", id, err)
			}
			m.jobs[id] = stored
			m.notify(id)
			m.mu.Unlock()
			return &j, nil
		}
		m.mu.Unlock()
		// Another writer changed (or deleted) the record since it was read.
	}
	return nil, fmt.Errorf("update job %s: %w", id, ErrContended)
}

func cloneJob(j *job.Job) job.Job {
	c := *j
	c.Spec.Tasks = append([]job.TaskSpec(nil), j.Spec.Tasks...)
	return c
}

func (m *Memory) GetJob(ctx context.Context, id string) (*job.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, fmt.Errorf("get job %s: %w", id, ErrNotFound)
	}
	c := cloneJob(&j)
	return &c, nil
}

func (m *Memory) ListJobs(ctx context.Context) ([]*job.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*job.Job, 0, len(m.jobs))
	for _, j := range m.jobs {
		c := cloneJob(&j)
		out = append(out, &c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// instanceKey names an instance within its job.
type instanceKey struct {
	task  string
	index int
}

func (m *Memory) PutAttempts(ctx context.Context, as []job.Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	m.PutAttemptsCalls++
	touched := map[string]bool{}
	chs := make([]AttemptChange, 0, len(as))
	for _, a := range as {
		chs = append(chs, AttemptChange{Attempt: a})
		mm := m.attempts[a.Job]
		if mm == nil {
			mm = map[instanceKey]map[int]job.Attempt{}
			m.attempts[a.Job] = mm
		}
		k := instanceKey{a.Task, a.Index}
		if mm[k] == nil {
			mm[k] = map[int]job.Attempt{}
		}
		mm[k][a.Attempt] = a
		touched[a.Job] = true
	}
	m.changed(chs)
	for id := range touched {
		m.notify(id)
	}
	return nil
}

func (m *Memory) Attempts(ctx context.Context, jobID string) ([]job.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []job.Attempt{}
	for _, byNumber := range m.attempts[jobID] {
		for _, a := range byNumber {
			out = append(out, a)
		}
	}
	SortAttempts(out)
	return out, nil
}

// InstanceAttempts reads the one instance's attempts, as Etcd does.
func (m *Memory) InstanceAttempts(ctx context.Context, jobID, task string, index int) ([]job.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byNumber := m.attempts[jobID][instanceKey{task, index}]
	out := make([]job.Attempt, 0, len(byNumber))
	for _, a := range byNumber {
		out = append(out, a)
	}
	SortAttempts(out)
	return out, nil
}

func (m *Memory) AttemptsByTaskID(ctx context.Context, taskIDs []string) (map[string]job.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]job.Attempt, len(taskIDs))
	for _, id := range taskIDs {
		jobID, task, index, attempt, err := job.ParseTaskID(id)
		if err != nil {
			continue
		}
		if a, ok := m.attempts[jobID][instanceKey{task, index}][attempt]; ok {
			out[id] = a
		}
	}
	return out, nil
}

func (m *Memory) FrameworkID(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fwID, nil
}

func (m *Memory) SetFrameworkID(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	m.fwID = id
	return nil
}

func (m *Memory) Watch(ctx context.Context, jobID string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.watchers[ch] = jobID
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}()
	return ch
}

// SortAttempts orders attempts by task, index, attempt.
func SortAttempts(as []job.Attempt) {
	sort.Slice(as, func(i, j int) bool {
		a, b := &as[i], &as[j]
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Attempt < b.Attempt
	})
}
