package spec

import (
	"errors"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestParseBatchFields(t *testing.T) {
	s, err := Parse([]byte(`
name: batch
failFast: true
deadline: 1h
params: {env: prod, shards: 4}
tasks:
- name: a
  command: "true"
  instances: 10
  parallelism: 3
  completions: 8
  retries: {limit: 5, backoff: {delay: 2s, factor: 3, max: 1m}, onFailure: [{action: failJob, exitCodes: [2]}, {action: retry, signals: [TERM]}]}
  restart: OnFailure
  timeout: 90
  cleanup: remove-none
  volumes: [{host: /nas/in, container: /in, readOnly: true}]
  bundle: {uri: "http://x/b.tar", digest: "sha256:ab"}
- name: b
  command: "true"
  depends: "a.failed || a.succeeded"
  when: params.env == "prod"
  continueOn: true
  backoff: {delay: 1s}
- name: c
  command: "true"
  depends: b
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := s.Tasks[0], s.Tasks[1], s.Tasks[2]
	if !s.FailFast || s.Deadline != job.Duration(time.Hour) || s.Params["shards"] != "4" {
		t.Errorf("job fields: %+v", s)
	}
	if a.Retries != 5 || a.Backoff == nil || a.Backoff.Delay != job.Duration(2*time.Second) || a.Backoff.Factor != 3 ||
		a.Backoff.Max != job.Duration(time.Minute) || len(a.OnFailure) != 2 || a.OnFailure[0].ExitCodes[0] != 2 ||
		a.OnFailure[1].Signals[0] != "TERM" {
		t.Errorf("retries: %+v %+v %+v", a.Retries, a.Backoff, a.OnFailure)
	}
	if a.Restart != "OnFailure" || a.Timeout != job.Duration(90*time.Second) || a.Cleanup != "remove-none" ||
		a.Parallelism != 3 || a.Completions != 8 || a.Needed() != 8 || !a.Volumes[0].ReadOnly || a.Bundle.Digest != "sha256:ab" {
		t.Errorf("task a: %+v", a)
	}
	if b.DependsExpr != "a.failed || a.succeeded" || b.Depends != nil || !b.ContinueOn || b.When == "" || b.Retries != DefaultRetries ||
		b.Backoff.Delay != job.Duration(time.Second) || b.Backoff.Factor != 2 {
		t.Errorf("task b: %+v", b)
	}
	if len(c.Depends) != 1 || c.Depends[0] != "b" || c.DependsExpr != "" {
		t.Errorf("task c: %+v", c)
	}
}

func TestParseWorkQueue(t *testing.T) {
	s, err := Parse([]byte(`{name: q, tasks: [{name: a, command: x, workQueue: {items: [p, q, r]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.Tasks[0]; a.Instances != 3 || a.WorkQueue.Pattern != job.QueuePerItem || a.Needed() != 3 {
		t.Errorf("perItem: %+v", a)
	}
	if s, err = Parse([]byte(`{name: q, tasks: [{name: b, command: x, instances: 2, workQueue: {items: [x], pattern: workers}}]}`)); err != nil {
		t.Fatal(err)
	}
	if b := s.Tasks[0]; b.Instances != 2 || b.Needed() != 1 {
		t.Errorf("workers: %+v", b)
	}
	for doc, field := range map[string]string{
		`{name: q, tasks: [{name: a, command: x, workQueue: {items: []}}]}`:                                                  "tasks[0].workQueue.items",
		`{name: q, tasks: [{name: a, command: x, workQueue: {items: [x], pattern: many}}]}`:                                  "tasks[0].workQueue.pattern",
		`{name: q, tasks: [{name: a, command: x, workQueue: {items: [1]}}]}`:                                                 "tasks[0].workQueue.items[0]",
		`{name: q, tasks: [{name: a, command: x, workQueue: {items: [p]}}, {name: b, command: x, workQueue: {items: [q]}}]}`: "tasks[1].workQueue",
	} {
		_, err := Parse([]byte(doc))
		if fe, ok := AsFieldError(err); !ok || fe.Field != field {
			t.Errorf("%s: got %v, want field %s", doc, err, field)
		}
	}
}

func TestTTLAfterFinished(t *testing.T) {
	s, err := Parse([]byte("name: a\nttlAfterFinished: 2h\ntasks: [{name: b, command: x}]"))
	if err != nil || s.TTLAfterFinished != job.Duration(2*time.Hour) {
		t.Fatalf("ttlAfterFinished: 2h = %v, %v", s, err)
	}
	for _, bad := range []string{"-1s", "9000h", "soon"} {
		_, err := Parse([]byte("name: a\nttlAfterFinished: " + bad + "\ntasks: [{name: b, command: x}]"))
		var fe *fielderr.FieldError
		if !errors.As(err, &fe) || fe.Field != "ttlAfterFinished" {
			t.Errorf("ttlAfterFinished: %s = %v, want a field error naming ttlAfterFinished", bad, err)
		}
	}
}
