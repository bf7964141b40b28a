package expand

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// FuzzTemplate parses a template and instantiates it with one argument.
// It must never panic or run away; refusals are *fielderr.FieldError; an
// instantiated spec passes spec.Validate and every instance of its loops
// renders.
func FuzzTemplate(f *testing.F) {
	files, _ := filepath.Glob("../../examples/templates/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, "2026-11-21")
		}
	}
	f.Add([]byte(tmplYAML), "4")
	f.Add([]byte("name: t\nparameters: [{name: x}]\nspec:\n  name: x\n  tasks: [{name: a, command: '"+strings.Repeat("{{inputs.parameters.x}}", 1000)+"'}]\n"), strings.Repeat("y", 64<<10))
	f.Add([]byte("name: t\nparameters: [{name: x}]\nspec: {name: x, tasks: [{name: a, command: 'echo {{item}}', withItems: [1, {a: b}, [c]]}]}"), "1")
	f.Add([]byte("name: t\nparameters: [{name: n}]\nspec: {name: x, tasks: [{name: a, command: 'echo {{index}}', instances: '{{inputs.parameters.n}}'}]}"), "1e308")
	f.Add([]byte("name: t\nspec:\n  name: x\n  params: {big: &big "+strings.Repeat("a", 1<<20)+"}\n  tasks: [{name: a, command: x, env: {A: *big, B: *big, C: *big, D: *big, E: *big, F: *big, G: *big, H: *big, I: *big}}]\n"), "")
	f.Add([]byte("name: t\nspec: {name: x, tasks: [{name: a, command: '{{', depends: '"+strings.Repeat("(", 100_000)+"'}]}"), "")
	f.Fuzz(func(t *testing.T, data []byte, arg string) {
		tp, err := ParseTemplate(data)
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok {
				t.Fatalf("refusal %T %v is not a *fielderr.FieldError", err, err)
			}
			return
		}
		args := map[string]string{}
		for _, p := range tp.Parameters {
			args[p.Name] = arg
		}
		s, err := tp.Instantiate(args)
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok {
				t.Fatalf("instantiate: %T %v is not a *fielderr.FieldError", err, err)
			}
			return
		}
		if err := spec.Validate(s); err != nil {
			t.Fatalf("instantiated spec fails Validate: %v", err)
		}
		for i := range s.Tasks {
			e, err := FromSpec(s, i)
			if err != nil || e == nil {
				continue // refused at submit through the registered check
			}
			for k := 0; k < min(e.Len(), 3); k++ {
				_, _ = e.Instance(k)
			}
		}
	})
}
