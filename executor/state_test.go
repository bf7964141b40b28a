package executor

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func status(id string, st mesos.TaskState, u byte) mesos.TaskStatus {
	uuid := make([]byte, 16)
	uuid[0], uuid[6] = u, 0x40
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: id}, State: st.Enum(), UUID: uuid, Source: mesos.SOURCE_EXECUTOR.Enum()}
}

func TestStateLifecycle(t *testing.T) {
	s := NewState()
	a := mesos.TaskInfo{TaskID: mesos.TaskID{Value: "a"}}
	b := mesos.TaskInfo{TaskID: mesos.TaskID{Value: "b"}}
	if err := s.Launch(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(a); err == nil {
		t.Fatal("duplicate launch accepted")
	}
	_ = s.Launch(b)
	if _, err := s.Record(status("zz", mesos.TASK_RUNNING, 1)); err == nil {
		t.Fatal("update of unknown task accepted")
	}
	for i, st := range []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
		if _, err := s.Record(status("a", st, byte(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Record(status("a", mesos.TASK_RUNNING, 9)); err == nil {
		t.Fatal("update after terminal accepted")
	}
	tasks, ups := s.Unacknowledged()
	if len(tasks) != 2 || len(ups) != 3 || ups[0].Status.GetState() != mesos.TASK_STARTING {
		t.Fatalf("unacked %d tasks %d updates", len(tasks), len(ups))
	}
	if got := s.Active(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("active %v", got)
	}
	if !s.Ack("a", status("a", 0, 1).UUID) {
		t.Fatal("ack of a known update not found")
	}
	if s.Ack("a", status("a", 0, 1).UUID) {
		t.Fatal("second ack found the update again")
	}
	tasks, ups = s.Unacknowledged()
	if len(tasks) != 1 || tasks[0].TaskID.Value != "b" || len(ups) != 2 {
		t.Fatalf("after ack: %v %d", tasks, len(ups))
	}
	s.Ack("a", status("a", 0, 3).UUID) // terminal acked before RUNNING: a stays until both are
	if !s.Known("a") {
		t.Fatal("task forgotten while an update is pending")
	}
	s.Ack("a", status("a", 0, 2).UUID)
	if s.Known("a") {
		t.Fatal("terminal, fully acknowledged task still known")
	}
	if s.Idle() {
		t.Fatal("idle with b running")
	}
	_, _ = s.Record(status("b", mesos.TASK_KILLED, 7))
	s.Ack("b", status("b", 0, 7).UUID)
	if !s.Idle() {
		t.Fatal("not idle after everything was acknowledged")
	}
}
