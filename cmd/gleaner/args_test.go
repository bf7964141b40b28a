package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

func TestFlagsFirst(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want string }{
		{"job get ID -o yaml", "job get -o yaml -- ID"},
		{"job get ID TASK/1 --output=json", "job get --output=json -- ID TASK/1"},
		{"job logs J a --follow --tail 5 --stderr", "job logs --follow --tail 5 --stderr -- J a"},
		{"job submit -f - --watch", "job submit -f - --watch"},
		{"job get -o yaml ID", "job get -o yaml -- ID"},
		{"job get ID -- -odd", "job get -- ID -odd"},
		{"agent attrs set h1 zone=a --allow-unknown", "agent attrs set --allow-unknown -- h1 zone=a"},
		{"job", "job"},
		{"nosuch x -o y", "nosuch x -o y"},
	} {
		got := flagsFirst(app.Commands, append([]string{"gleaner"}, strings.Fields(tc.in)...))
		if want := append([]string{"gleaner"}, strings.Fields(tc.want)...); !slices.Equal(got, want) {
			t.Errorf("%q → %q; want %q", tc.in, got[1:], want[1:])
		}
	}
}

// `gleaner job get ID -o yaml` works (issue 13), through the real API.
func TestFlagsAfterArguments(t *testing.T) {
	srv := httptest.NewServer(api.Handler(instantBackend{store.NewMemory()}, testAPIConfig()))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	spec := filepath.Join(t.TempDir(), "j.yaml")
	os.WriteFile(spec, []byte("name: late\ntasks: [{name: a, command: 'true'}]"), 0o644)
	if out, err := runJobCLI(t, "job", "submit", "-f", spec, "--watch"); err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	out, err := runJobCLI(t, "job", "get", "late-1", "-o", "yaml")
	if err != nil || !strings.Contains(out, "state: succeeded") {
		t.Fatalf("get ID -o yaml: %v\n%s", err, out)
	}
}

func TestMistypedCommandSuggests(t *testing.T) {
	_, err := runJobCLI(t, "jobs", "list")
	ec, ok := err.(cli.ExitCoder)
	if !ok || ec.ExitCode() != 2 || !strings.Contains(err.Error(), `Did you mean "job"?`) {
		t.Fatalf("gleaner jobs list: %v", err)
	}
}
