package spec

import "testing"

func TestParsePlacementFields(t *testing.T) {
	s, err := Parse([]byte(`
name: p
priority: 500
user: alice
queue: etl
tasks:
  - name: a
    command: "true"
    constraints: [[zone, GROUP_BY], [hostname, UNIQUE], [rack, MAX_PER, 2]]
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Priority != 500 || s.User != "alice" || s.Queue != "etl" {
		t.Fatalf("job fields = %+v", s)
	}
	c := s.Tasks[0].Constraints
	if len(c) != 3 || c[2][2] != "2" || c[1][1] != "UNIQUE" {
		t.Fatalf("constraints = %q", c)
	}
	d, err := Parse([]byte(`{"name":"d","tasks":[{"name":"a","command":"true"}]}`))
	if err != nil || d.Priority != DefaultPriority {
		t.Fatalf("default priority = %v, %v", d, err)
	}
}

func TestParsePlacementErrors(t *testing.T) {
	for _, tc := range []struct{ doc, field string }{
		{`{"name":"a","priority":1001,"tasks":[{"name":"a","command":"true"}]}`, "priority"},
		{`{"name":"a","priority":-1,"tasks":[{"name":"a","command":"true"}]}`, "priority"},
		{`{"name":"a","user":"bad user","tasks":[{"name":"a","command":"true"}]}`, "user"},
		{`{"name":"a","queue":"","tasks":[{"name":"a","command":"true"}]}`, ""},
		{`{"name":"a","tasks":[{"name":"a","command":"true"},{"name":"b","command":"true","constraints":[["zone","GROUP_BY"],["rack","BOGUS","x"]]}]}`, "tasks[1].constraints[1]"},
		{`{"name":"a","tasks":[{"name":"a","command":"true","constraints":[["rack","MAX_PER","zero"]]}]}`, "tasks[0].constraints[0]"},
		{`{"name":"a","tasks":[{"name":"a","command":"true","constraints":"zone"}]}`, "tasks[0].constraints"},
		{`{"name":"a","tasks":[{"name":"a","command":"true","constraints":[["zone",true]]}]}`, "tasks[0].constraints[0][1]"},
	} {
		_, err := Parse([]byte(tc.doc))
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.doc, err)
			}
			continue
		}
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != tc.field {
			t.Errorf("%s: err = %v, want field %s", tc.doc, err, tc.field)
		}
	}
}
