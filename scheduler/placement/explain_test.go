package placement

import (
	"encoding/json"
	"testing"
)

func TestCodeJSON(t *testing.T) {
	b, err := json.Marshal(map[string]Code{"a": UnschedulableForever, "b": Placed})
	if err != nil || string(b) != `{"a":"unschedulable-forever","b":"placed"}` {
		t.Fatalf("%s %v", b, err)
	}
}
