package taskdir

import (
	"path"
	"testing"
)

func TestNameIsOnePathElement(t *testing.T) {
	cases := []struct{ id, want string }{
		{"job.task.0.0", "job.task.0.0"},
		{"a/b", "a_b"},
		{"../../etc", ".._.._etc"},
		{"x\x00y", "x_y"},
		{"", "_"},
		{".", "_."},
		{"..", "_.."},
	}
	for _, c := range cases {
		got := Name(c.id)
		if got != c.want {
			t.Errorf("Name(%q) = %q, want %q", c.id, got, c.want)
		}
		if path.Base("/tasks/"+got) != got || path.Clean("/tasks/"+got) != "/tasks/"+got {
			t.Errorf("Name(%q) = %q is not one clean path element", c.id, got)
		}
	}
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a/b", "j.t.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got := Name(id)
		if path.Clean("/tasks/"+got) != "/tasks/"+got {
			t.Fatalf("Name(%q) = %q leaves /tasks/", id, got)
		}
	})
}
