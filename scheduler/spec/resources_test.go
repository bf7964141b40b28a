package spec

import (
	"math"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Issue 10 finding 8: cpus: 1e308 was accepted and pending forever;
// cpus: 1e-7, mem: 0 was accepted and every attempt failed
// REASON_TASK_INVALID. Both are refused at submit, naming the field.
func TestParseBoundsResources(t *testing.T) {
	for _, c := range []struct {
		name, resources, field, msg string
	}{
		{"cpus 1e308", "{cpus: 1e308}", "tasks[0].resources.cpus", "more than any agent can hold"},
		{"tiny cpus, no mem", "{cpus: 1e-7, mem: 0}", "tasks[0].resources.cpus", "at least 0.01"},
		{"zero cpus", "{cpus: 0, mem: 64}", "tasks[0].resources.cpus", "at least 0.01"},
		{"zero mem", "{cpus: 1, mem: 0}", "tasks[0].resources.mem", "at least 32"},
		{"small mem", "{cpus: 1, mem: 31.9}", "tasks[0].resources.mem", "at least 32"},
		{"huge mem", "{mem: 1e12}", "tasks[0].resources.mem", "more than any agent can hold"},
		{"huge disk", "{disk: 1e300}", "tasks[0].resources.disk", "more than any agent can hold"},
		{"huge gpus", "{gpus: 1e6}", "tasks[0].resources.gpus", "more than any agent can hold"},
		{"infinite cpus", "{cpus: .inf}", "", "parse spec"},
		{"nan mem", "{mem: .nan}", "", "parse spec"},
		{"overflowing number", `{"cpus": 1e999}`, "tasks[0].resources.cpus", "must be a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte("name: a\ntasks: [{name: b, command: x, resources: " + c.resources + "}]"))
			fe, ok := AsFieldError(err)
			if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("got %v, want %s: ...%s...", err, c.field, c.msg)
			}
		})
	}
}

func TestParseResourceDefaultsAndBounds(t *testing.T) {
	for _, c := range []struct {
		resources string
		want      job.Resources
	}{
		{"{}", job.Resources{CPUs: DefaultCPUs, Mem: DefaultMem}},
		{"{cpus: 2}", job.Resources{CPUs: 2, Mem: DefaultMem}},
		{"{mem: 512, disk: 10}", job.Resources{CPUs: DefaultCPUs, Mem: 512, Disk: 10}},
		{"{cpus: 0.01, mem: 32}", job.Resources{CPUs: 0.01, Mem: 32}},
		{"{cpus: 4096, mem: 67108864, disk: 1073741824, gpus: 1024}", job.Resources{CPUs: MaxCPUs, Mem: MaxMem, Disk: MaxDisk, GPUs: MaxGPUs}},
	} {
		s, err := Parse([]byte("name: a\ntasks: [{name: b, command: x, resources: " + c.resources + "}]"))
		if err != nil {
			t.Fatalf("%s: %v", c.resources, err)
		}
		if got := s.Tasks[0].Resources; got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.resources, got, c.want)
		}
	}
}

// A spec built in code is checked the same way, NaN and Inf included.
func TestValidateRefusesNonFiniteResources(t *testing.T) {
	for _, r := range []job.Resources{
		{CPUs: math.NaN(), Mem: 64},
		{CPUs: 1, Mem: math.Inf(1)},
		{CPUs: 1, Mem: 64, Disk: math.Inf(-1)},
	} {
		s := &job.Spec{Name: "a", Tasks: []job.TaskSpec{{Name: "b", Command: "x", Instances: 1, Resources: r}}}
		if err := Validate(s); err == nil || !strings.Contains(err.Error(), "tasks[0].resources.") {
			t.Errorf("%+v: got %v", r, err)
		}
	}
}
