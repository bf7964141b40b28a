package templates

import "testing"

func FuzzParse(f *testing.F) {
	f.Add("shards", []byte("parameters: [{name: count, default: \"2\"}]\nspec: {name: s, tasks: [{name: t, command: echo, instances: \"{{inputs.parameters.count}}\"}]}"))
	f.Add("a", []byte("parameters: [{name: count}]\nspec: {name: \"x-{{inputs.parameters.count}}\", tasks: [{name: t, command: echo}]}"))
	f.Add("a", []byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, name string, doc []byte) {
		tpl, err := Parse(name, doc)
		if err == nil && tpl.Name != name {
			t.Fatalf("accepted with name %q for path %q", tpl.Name, name)
		}
	})
}

func FuzzParseRunRequest(f *testing.F) {
	f.Add([]byte(`{"version": 2, "params": {"k": "v"}}`))
	f.Add([]byte(`{"params": null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRunRequest(body)
		if err != nil {
			return
		}
		if r.Version < 0 || len(r.Params) > MaxParams {
			t.Fatalf("accepted out of bounds: %+v", r)
		}
		for k, v := range r.Params {
			if len(v) > MaxParamValueBytes {
				t.Fatalf("accepted a %d-byte value for %s", len(v), k)
			}
		}
	})
}
