package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is where Gleaner keeps its state in etcd.
const DefaultPrefix = "/gleaner/"

// MaxOpsPerTxn stays under etcd's default --max-txn-ops (128).
const MaxOpsPerTxn = 120

// Etcd is the etcd Store. Layout under the prefix:
//
//	jobs/<id>                                → job.Job (JSON)
//	attempts/<id>/<task>/<index>/<attempt>   → job.Attempt (JSON), only for launched instances
//	framework-id                             → Mesos framework id
//	leader/                                  → election (scheduler/leader)
type Etcd struct {
	cli      *clientv3.Client
	prefix   string
	fence    []clientv3.Cmp
	pageSize int // attempt records per range request; 0: AttemptPageSize
}

var _ Store = (*Etcd)(nil)

// NewEtcd returns a store under prefix (DefaultPrefix if empty), unfenced.
func NewEtcd(cli *clientv3.Client, prefix string) *Etcd {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Etcd{cli: cli, prefix: prefix}
}

// Prefix is the store's key prefix.
func (e *Etcd) Prefix() string { return e.prefix }

// Fenced returns a store whose every write carries the comparison that the
// leader key still has createRev as its create revision (the etcd election
// key of this leadership term), so a deposed leader's writes never land.
func (e *Etcd) Fenced(leaderKey string, createRev int64) *Etcd {
	c := *e
	c.fence = []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", createRev)}
	return &c
}

func (e *Etcd) jobKey(id string) string { return e.prefix + "jobs/" + id }
func (e *Etcd) attemptPrefix(id string) string {
	return e.prefix + "attempts/" + id + "/"
}
func (e *Etcd) attemptKey(a *job.Attempt) string {
	return e.attemptPrefix(a.Job) + a.Task + "/" + strconv.Itoa(a.Index) + "/" + strconv.Itoa(a.Attempt)
}

func (e *Etcd) txn(ctx context.Context, extra []clientv3.Cmp, ops []clientv3.Op) (bool, error) {
	cmps := append(append([]clientv3.Cmp{}, e.fence...), extra...)
	resp, err := e.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// fenceHolds distinguishes a failed fence from a failed extra comparison.
func (e *Etcd) fenceHolds(ctx context.Context) (bool, error) {
	if len(e.fence) == 0 {
		return true, nil
	}
	resp, err := e.cli.Txn(ctx).If(e.fence...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

func (e *Etcd) CreateJob(ctx context.Context, j *job.Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	k := e.jobKey(j.ID)
	ok, err := e.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)}, []clientv3.Op{clientv3.OpPut(k, string(b))})
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	if !ok {
		if held, err := e.fenceHolds(ctx); err == nil && !held {
			return fmt.Errorf("create job %s: %w", j.ID, ErrNotLeader)
		}
		return fmt.Errorf("create job %s: %w", j.ID, ErrExists)
	}
	return nil
}

// UpdateJob is a compare-and-swap on the record's ModRevision, in the same
// transaction as the leadership fence.
func (e *Etcd) UpdateJob(ctx context.Context, id string, change func(*job.Job) error) (*job.Job, error) {
	k := e.jobKey(id)
	for range MaxUpdateAttempts {
		resp, err := e.cli.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("update job %s: %w", id, ErrNotFound)
		}
		kv := resp.Kvs[0]
		var j job.Job
		if err := json.Unmarshal(kv.Value, &j); err != nil {
			return nil, fmt.Errorf("decode job %s: %w", id, err)
		}
		if err := change(&j); err != nil {
			return nil, err
		}
		b, err := json.Marshal(&j)
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if bytes.Equal(b, kv.Value) {
			return &j, nil
		}
		ok, err := e.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", kv.ModRevision)}, []clientv3.Op{clientv3.OpPut(k, string(b))})
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if ok {
			return &j, nil
		}
		held, err := e.fenceHolds(ctx)
		if err != nil {
			return nil, fmt.Errorf("update job %s: %w", id, err)
		}
		if !held {
			return nil, fmt.Errorf("update job %s: %w", id, ErrNotLeader)
		}
		// Another writer changed (or deleted) the record since it was read.
	}
	return nil, fmt.Errorf("update job %s: %w", id, ErrContended)
}

func (e *Etcd) GetJob(ctx context.Context, id string) (*job.Job, error) {
	resp, err := e.cli.Get(ctx, e.jobKey(id))
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("get job %s: %w", id, ErrNotFound)
	}
	var j job.Job
	if err := json.Unmarshal(resp.Kvs[0].Value, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	return &j, nil
}

func (e *Etcd) ListJobs(ctx context.Context) ([]*job.Job, error) {
	resp, err := e.cli.Get(ctx, e.prefix+"jobs/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]*job.Job, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var j job.Job
		if err := json.Unmarshal(kv.Value, &j); err != nil {
			return nil, fmt.Errorf("decode job %s: %w", kv.Key, err)
		}
		out = append(out, &j)
	}
	return out, nil
}

// TxnConcurrency is how many attempt transactions PutAttempts keeps in
// flight; etcd commits concurrent proposals together, so a large batch
// costs a few fsyncs rather than one per transaction.
const TxnConcurrency = 8

func (e *Etcd) PutAttempts(ctx context.Context, as []job.Attempt) error {
	if len(as) <= MaxOpsPerTxn {
		return e.putChunk(ctx, as)
	}
	return inChunks(ctx, as, e.putChunk)
}

// inChunks calls do on as in chunks of at most MaxOpsPerTxn, TxnConcurrency
// in flight, and returns the first error (the rest are cancelled).
func inChunks[T any](ctx context.Context, as []T, do func(context.Context, []T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, TxnConcurrency)
	errc := make(chan error, (len(as)+MaxOpsPerTxn-1)/MaxOpsPerTxn)
	n := 0
	for start := 0; start < len(as); start += MaxOpsPerTxn {
		chunk := as[start:min(start+MaxOpsPerTxn, len(as))]
		n++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errc <- do(ctx, chunk)
		}()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func (e *Etcd) putChunk(ctx context.Context, as []job.Attempt) error {
	ops := make([]clientv3.Op, 0, len(as))
	for i := range as {
		b, err := json.Marshal(&as[i])
		if err != nil {
			return fmt.Errorf("put attempt %s: %w", as[i].TaskID(), err)
		}
		ops = append(ops, clientv3.OpPut(e.attemptKey(&as[i]), string(b)))
	}
	ok, err := e.txn(ctx, nil, ops)
	if err != nil {
		return fmt.Errorf("put %d attempts: %w", len(as), err)
	}
	if !ok {
		return fmt.Errorf("put %d attempts: %w", len(as), ErrNotLeader)
	}
	return nil
}

// AttemptPageSize is how many attempt records one etcd range request
// returns: a job's records are read in pages at one revision, so a
// 200,000-instance job never arrives as one 100 MB response (and its gRPC
// buffer and decoded copy) in the scheduler's memory. Not much smaller:
// etcd 3.4 walks the whole rest of the range for every page (to count
// it), so 2,000-record pages read 175,000 records in 7.3 s against 2.7 s
// with 20,000 and 3.3 s in one response (measured in one run).
const AttemptPageSize = 20_000

// WithAttemptPageSize returns the store reading attempt records n per
// etcd request (AttemptPageSize when n <= 0).
func (e *Etcd) WithAttemptPageSize(n int) *Etcd {
	c := *e
	c.pageSize = n
	return &c
}

func (e *Etcd) attemptPageSize() int64 {
	if e.pageSize <= 0 {
		return AttemptPageSize
	}
	return int64(e.pageSize)
}

func (e *Etcd) getAttempts(ctx context.Context, prefix string) ([]job.Attempt, error) {
	var out []job.Attempt
	_, err := e.scanAttempts(ctx, prefix, func(page []job.Attempt) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	SortAttempts(out)
	if out == nil {
		out = []job.Attempt{}
	}
	return out, nil
}

// scanAttempts reads the records under prefix a page at a time, every page
// at the revision of the first, and calls fn with each page's attempts
// sorted, every instance's attempts in one call: the records of the last
// instance of a page are held back and handed over with the next page
// (keys of one instance are adjacent in etcd's order). The records share
// their repeated strings across pages; fn may keep the attempts, not the
// slice. It returns the revision read at.
func (e *Etcd) scanAttempts(ctx context.Context, prefix string, fn func([]job.Attempt) error) (int64, error) {
	var (
		names   = interner{}
		key     = prefix
		end     = clientv3.GetPrefixRangeEnd(prefix)
		rev     int64
		page    []job.Attempt
		pending []job.Attempt // the last instance of the page before
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(e.attemptPageSize())}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev)) // every page from one snapshot
		}
		resp, err := e.cli.Get(ctx, key, opts...)
		if err != nil {
			return rev, fmt.Errorf("get attempts %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		page = append(page[:0], pending...)
		for _, kv := range resp.Kvs {
			var a job.Attempt
			if err := json.Unmarshal(kv.Value, &a); err != nil {
				return rev, fmt.Errorf("decode attempt %s: %w", kv.Key, err)
			}
			names.attempt(&a)
			page = append(page, a)
		}
		last := !resp.More || len(resp.Kvs) == 0
		pending = pending[:0]
		if !last {
			cut := len(page)
			for cut > 0 && page[cut-1].Task == page[len(page)-1].Task && page[cut-1].Index == page[len(page)-1].Index {
				cut--
			}
			pending = append(pending, page[cut:]...) // all of it when the page holds one instance only
			page = page[:cut]
		}
		if len(page) > 0 {
			SortAttempts(page)
			if err := fn(page); err != nil {
				return rev, err
			}
		}
		if last {
			return rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// interner makes the attempts of one read share their repeated strings
// (job id, task, agent, host, states, reasons): a 200,000-instance job's
// records name a few dozen distinct values, not 200,000 copies of each.
type interner map[string]string

func (in interner) of(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

func (in interner) attempt(a *job.Attempt) {
	a.Job, a.Task, a.State = in.of(a.Job), in.of(a.Task), job.AttemptState(in.of(string(a.State)))
	a.AgentID, a.Hostname = in.of(a.AgentID), in.of(a.Hostname)
	a.MesosState, a.Reason, a.Verdict = in.of(a.MesosState), in.of(a.Reason), in.of(a.Verdict)
}

func (e *Etcd) Attempts(ctx context.Context, jobID string) ([]job.Attempt, error) {
	return e.getAttempts(ctx, e.attemptPrefix(jobID))
}

func (e *Etcd) InstanceAttempts(ctx context.Context, jobID, task string, index int) ([]job.Attempt, error) {
	return e.getAttempts(ctx, e.attemptPrefix(jobID)+task+"/"+strconv.Itoa(index)+"/")
}

func (e *Etcd) AttemptsByTaskID(ctx context.Context, taskIDs []string) (map[string]job.Attempt, error) {
	out := make(map[string]job.Attempt, len(taskIDs))
	var ops []clientv3.Op
	get := func() error {
		if len(ops) == 0 {
			return nil
		}
		n := len(ops)
		resp, err := e.cli.Txn(ctx).Then(ops...).Commit()
		ops = ops[:0]
		if err != nil {
			return fmt.Errorf("get %d attempts: %w", n, err)
		}
		for _, r := range resp.Responses {
			for _, kv := range r.GetResponseRange().Kvs {
				var a job.Attempt
				if err := json.Unmarshal(kv.Value, &a); err != nil {
					return fmt.Errorf("decode attempt %s: %w", kv.Key, err)
				}
				out[a.TaskID()] = a
			}
		}
		return nil
	}
	for _, id := range taskIDs {
		jobID, task, index, attempt, err := job.ParseTaskID(id)
		if err != nil {
			continue
		}
		ops = append(ops, clientv3.OpGet(e.attemptKey(&job.Attempt{Job: jobID, Task: task, Index: index, Attempt: attempt})))
		if len(ops) == MaxOpsPerTxn {
			if err := get(); err != nil {
				return nil, err
			}
		}
	}
	if err := get(); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Etcd) FrameworkID(ctx context.Context) (string, error) {
	resp, err := e.cli.Get(ctx, e.prefix+"framework-id")
	if err != nil {
		return "", fmt.Errorf("get framework id: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

func (e *Etcd) SetFrameworkID(ctx context.Context, id string) error {
	ok, err := e.txn(ctx, nil, []clientv3.Op{clientv3.OpPut(e.prefix+"framework-id", id)})
	if err != nil {
		return fmt.Errorf("set framework id: %w", err)
	}
	if !ok {
		return fmt.Errorf("set framework id: %w", ErrNotLeader)
	}
	return nil
}

func (e *Etcd) Watch(ctx context.Context, jobID string) <-chan struct{} {
	out := make(chan struct{}, 1)
	jp, ap := e.prefix+"jobs/", e.prefix+"attempts/"
	if jobID != "" {
		jp, ap = e.jobKey(jobID), e.attemptPrefix(jobID)
	}
	wctx := clientv3.WithRequireLeader(ctx)
	w1 := e.cli.Watch(wctx, jp, clientv3.WithPrefix())
	w2 := e.cli.Watch(wctx, ap, clientv3.WithPrefix())
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		for w1 != nil || w2 != nil {
			select {
			case _, ok := <-w1:
				if !ok {
					w1 = nil
					continue
				}
				signal()
			case _, ok := <-w2:
				if !ok {
					w2 = nil
					continue
				}
				signal()
			}
		}
	}()
	return out
}
