package metrics

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Source is what the state collector reads: a scheduler node
// (scheduler/node.Node satisfies it).
type Source interface {
	IsLeader() bool
	// Store serves reads of the jobs and their attempts.
	Store() store.Store
	// Why explains a task's pending instances from the last offer cycle;
	// ok is false when placement has nothing to say about it.
	Why(jobID, task string) (matcher.Pending, bool)
}

// ReadCostFactor bounds the time spent reading the store for the state
// metrics to one part in ReadCostFactor (see StateConfig.MaxAge).
const ReadCostFactor = 20

// Defaults of StateConfig.
const (
	DefaultMaxAge  = 15 * time.Second
	DefaultTimeout = 5 * time.Second
)

// StateConfig configures a StateCollector.
type StateConfig struct {
	// MaxAge is how long a summary read from the store is reused: scrapes
	// closer together than that cost no etcd reads (default DefaultMaxAge).
	// A read that took long stretches it to ReadCostFactor times the read,
	// so a huge store costs its leader at most one read in ReadCostFactor.
	MaxAge time.Duration
	// Timeout bounds one read of the store (default DefaultTimeout, half
	// Prometheus' default scrape timeout: the read happens during a
	// scrape); a read that fails keeps exporting the last summary, its age
	// growing.
	Timeout time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// StateCollector exports, at scrape time, whether the node leads and —
// on the leader only, so summing over schedulers counts each job once —
// jobs and instances by state, failed attempts by state and reason and
// pending instances per queue, derived from the stored jobs as the API
// derives them. A job that ended is read once: its counts are kept (not its
// attempts) until its record changes.
type StateCollector struct {
	src Source
	cfg StateConfig

	mu      sync.Mutex
	summary Summary
	at      time.Time            // when summary was read; zero before the first read
	tried   time.Time            // when the store was last read, successfully or not
	took    time.Duration        // how long that read took
	ended   map[string]endedView // views of ended jobs, reused while their record is unchanged
	errors  prometheus.Counter
}

var _ prometheus.Collector = (*StateCollector)(nil)

// NewStateCollector returns a collector reading src.
func NewStateCollector(src Source, cfg StateConfig) *StateCollector {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &StateCollector{src: src, cfg: cfg, errors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gleaner_state_read_errors_total", Help: "Reads of the stored jobs for the state metrics that failed."})}
}

var (
	leaderDesc    = prometheus.NewDesc("gleaner_leader", "1 while this scheduler is the leader, else 0.", nil, nil)
	jobsDesc      = prometheus.NewDesc("gleaner_jobs", "Stored jobs by derived state (exported by the leader only).", []string{"state"}, nil)
	instancesDesc = prometheus.NewDesc("gleaner_instances", "Instances of stored jobs by derived state (exported by the leader only).", []string{"state"}, nil)
	failuresDesc  = prometheus.NewDesc("gleaner_attempt_failures", "Stored attempts that ended failed, killed or lost, by state and reason (exported by the leader only).", []string{"state", "reason"}, nil)
	pendingDesc   = prometheus.NewDesc("gleaner_pending_instances_by_reason", "Pending instances of stored jobs by why their task waits: the leading rejection reason of the last offer cycle, or \"not tried\" (exported by the leader only).", []string{"reason"}, nil)
	queueDesc     = prometheus.NewDesc("gleaner_queue_pending_instances", "Pending instances of stored jobs by the jobs' queue (exported by the leader only).", []string{"queue"}, nil)
	ageDesc       = prometheus.NewDesc("gleaner_state_age_seconds", "Age of the summary of stored jobs the state metrics show (exported by the leader only).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{leaderDesc, jobsDesc, instancesDesc, failuresDesc, pendingDesc, queueDesc, ageDesc} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	c.errors.Collect(ch)
	leading := c.src.IsLeader()
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, b2f(leading))
	if !leading {
		return
	}
	s, at, ok := c.current()
	if !ok {
		return
	}
	for st, n := range s.Jobs {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), string(st))
	}
	for st, n := range s.Instances {
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(n), string(st))
	}
	for k, n := range s.Failures {
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.GaugeValue, float64(n), string(k.State), k.Reason)
	}
	for r, n := range s.PendingByReason {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n), r)
	}
	for q, n := range s.QueuePending {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), q)
	}
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, c.cfg.Now().Sub(at).Seconds())
}

// current returns a summary no older than MaxAge, reading the store when
// the last one is older; on a failed read the last one (ok is false when
// there has been none). A failed read is not retried within MaxAge either,
// so scrapes do not pile reads onto an etcd in trouble.
func (c *StateCollector) current() (Summary, time.Time, bool) {
	c.mu.Lock() // one read at a time; concurrent scrapes share it
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if !c.tried.IsZero() && now.Sub(c.tried) < max(c.cfg.MaxAge, ReadCostFactor*c.took) {
		return c.summary, c.at, !c.at.IsZero()
	}
	c.tried = now
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	s, ended, err := readSummary(ctx, c.src.Store(), c.src.Why, c.ended)
	c.took = c.cfg.Now().Sub(now)
	if err != nil {
		c.errors.Inc()
		return c.summary, c.at, !c.at.IsZero()
	}
	c.summary, c.at, c.ended = s, now, ended
	return s, now, true
}

// ReadSummary reads every stored job and its attempts and summarizes them,
// asking why (nil: nobody) why tasks with pending instances wait.
func ReadSummary(ctx context.Context, st store.Store, why func(jobID, task string) (matcher.Pending, bool)) (Summary, error) {
	s, _, err := readSummary(ctx, st, why, nil)
	return s, err
}

// endedView is the view of a job that ended, kept between reads with the
// fingerprint of the record it was derived from.
type endedView struct {
	record [sha256.Size]byte
	view   JobView
}

// readSummary is ReadSummary reusing the views of ended jobs in ended
// (nil: none) whose record did not change: an ended job's attempts change
// no more unless its record does (a retry, a fold), so a finished job of
// any size costs one read of its record, not of its attempts. It reads one
// job's attempts at a time, a page at a time, and keeps only their counts. It returns the
// views of the jobs that have ended, for the next read.
func readSummary(ctx context.Context, st store.Store, why func(jobID, task string) (matcher.Pending, bool), ended map[string]endedView) (Summary, map[string]endedView, error) {
	jobs, err := st.ListJobs(ctx)
	if err != nil {
		return Summary{}, nil, fmt.Errorf("list jobs: %w", err)
	}
	views := make([]JobView, 0, len(jobs))
	nextEnded := make(map[string]endedView)
	for _, j := range jobs {
		rec, err := json.Marshal(j)
		if err != nil {
			return Summary{}, nil, fmt.Errorf("job %s: %w", j.ID, err)
		}
		fp := sha256.Sum256(rec)
		if e, ok := ended[j.ID]; ok && e.record == fp {
			views = append(views, e.view)
			nextEnded[j.ID] = e
			continue
		}
		// Page by page: only the counts are kept, never every record of
		// a big job at once (issue 16).
		r, failures := jobstatus.NewReduction(j), map[FailureKey]int{}
		err = store.ScanAttempts(ctx, st, j.ID, func(page []job.Attempt) error {
			r.Add(page)
			for k, n := range CountFailures(page) {
				failures[k] += n
			}
			return nil
		})
		if err != nil {
			return Summary{}, nil, fmt.Errorf("attempts of job %s: %w", j.ID, err)
		}
		v := JobView{Status: r.Status(), Queue: j.Spec.Queue, Failures: failures, PendingReasons: map[string]string{}}
		for _, t := range v.Status.Tasks {
			if t.Counts.Pending+t.Counts.Retrying > 0 && why != nil {
				if p, ok := why(j.ID, t.Name); ok {
					v.PendingReasons[t.Name] = PendingReason(p)
				}
			}
		}
		if v.Status.State.Terminal() {
			v.Status.Tasks = slimTasks(v.Status.Tasks)
			nextEnded[j.ID] = endedView{record: fp, view: v}
		}
		views = append(views, v)
	}
	return Summarize(views), nextEnded, nil
}

// slimTasks keeps of task statuses what Summarize reads: names and counts.
func slimTasks(ts []job.TaskStatus) []job.TaskStatus {
	out := make([]job.TaskStatus, len(ts))
	for i, t := range ts {
		out[i] = job.TaskStatus{Name: t.Name, State: t.State, Counts: t.Counts}
	}
	return out
}

// PendingReason names why a task waits: its leading rejection reason, or
// the placement's code when it named none.
func PendingReason(p matcher.Pending) string {
	if len(p.Reasons) > 0 {
		return p.Reasons[0].Reason
	}
	return p.Code.String()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
