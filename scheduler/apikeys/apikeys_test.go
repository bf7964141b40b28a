package apikeys

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"
)

func TestCamelSnake(t *testing.T) {
	for _, c := range []struct{ snake, camel string }{
		{"agent_id", "agentId"},
		{"mesos_attributes", "mesosAttributes"},
		{"batch_disk_mb", "batchDiskMb"},
		{"interval_seconds", "intervalSeconds"},
		{"hostname", "hostname"},
	} {
		if got := Camel(c.snake); got != c.camel {
			t.Errorf("Camel(%q) = %q, want %q", c.snake, got, c.camel)
		}
		if got := Snake(c.camel); got != c.snake {
			t.Errorf("Snake(%q) = %q, want %q", c.camel, got, c.snake)
		}
	}
}

func TestRewriteKeepsOpaqueMapsAndNumbers(t *testing.T) {
	in := `{"agent_id":"a","attributes":{"rack_id":"r1"},"monitor":{"mem_mb":12345678901234567890,"list":[{"last_error":"x"}]}}`
	out, err := Rewrite([]byte(in), Camel, map[string]bool{"attributes": true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"agentId":"a","attributes":{"rack_id":"r1"},"monitor":{"list":[{"lastError":"x"}],"memMb":12345678901234567890}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	back, err := Rewrite(out, Snake, map[string]bool{"attributes": true})
	if err != nil {
		t.Fatal(err)
	}
	if got := `{"agent_id":"a","attributes":{"rack_id":"r1"},"monitor":{"list":[{"last_error":"x"}],"mem_mb":12345678901234567890}}`; string(back) != got {
		t.Fatalf("back: %s", back)
	}
	if _, err := Rewrite([]byte(`{"a":`), Camel, nil); err == nil {
		t.Fatal("broken JSON rewritten")
	}
}

func TestSnakeKeys(t *testing.T) {
	bad, err := SnakeKeys([]byte(`{"ok":1,"agent_id":2,"attributes":{"rack_id":"r"},"xs":[{"Bad":1,"fine":{"mem-mb":1}}]}`), map[string]bool{"attributes": true})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(bad)
	if want := []string{".agent_id", ".xs[].Bad", ".xs[].fine.mem-mb"}; !reflect.DeepEqual(bad, want) {
		t.Fatalf("got %v, want %v", bad, want)
	}
}

func TestRequestStyle(t *testing.T) {
	for q, want := range map[string]Style{"": CamelCase, "?keys=camel": CamelCase, "?keys=snake": SnakeCase} {
		got, err := RequestStyle(httptest.NewRequest("GET", "/v1/agents"+q, nil))
		if err != nil || got != want {
			t.Errorf("%q: %v, %v", q, got, err)
		}
	}
	if _, err := RequestStyle(httptest.NewRequest("GET", "/v1/agents?keys=kebab", nil)); err == nil || err.Error() != `keys: want camel or snake, got "kebab"` {
		t.Errorf("kebab: %v", err)
	}
}

func TestRenderInTheStyleAsked(t *testing.T) {
	v := struct {
		AgentID string            `json:"agentId"`
		Attrs   map[string]string `json:"mesosAttributes"`
	}{"a1", map[string]string{"rackId": "r1"}}
	if got, err := Render(CamelCase, v, nil); err != nil || !reflect.DeepEqual(got, any(v)) {
		t.Fatalf("camelCase: %v %v, want the value itself", got, err)
	}
	got, err := Render(SnakeCase, v, map[string]bool{"mesosAttributes": true})
	raw, ok := got.(json.RawMessage)
	if err != nil || !ok || string(raw) != `{"agent_id":"a1","mesos_attributes":{"rackId":"r1"}}` {
		t.Fatalf("snake_case: %s %v", raw, err)
	}
}
