package compose

import (
	"errors"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func TestJobNameAsDockerComposeNamesAProject(t *testing.T) {
	const svc = "services: {a: {command: x}}\n"
	for _, tc := range []struct {
		name, doc string
		opt       Options
		want      string
		field     string
	}{
		{"the flag first", "version: '2'\nname: top\nlabels: {gleaner.project_type: batch, gleaner.project_name: lab}\n" + svc, Options{Name: "flag", Dir: "/x/dir"}, "flag", ""},
		{"then the label", "version: '2'\nname: top\nlabels: {gleaner.project_type: batch, aliyun.project_name: lab}\n" + svc, Options{Dir: "/x/dir"}, "lab", ""},
		{"then the top-level name", "version: '2'\nname: top\nlabels: {gleaner.project_type: batch}\n" + svc, Options{Dir: "/x/dir"}, "top", ""},
		{"then the directory", "version: '2'\nlabels: {gleaner.project_type: batch}\n" + svc, Options{Dir: "/home/me/My_Project.v2"}, "my-project-v2", ""},
		{"none: an error naming name", "version: '2'\nlabels: {gleaner.project_type: batch}\n" + svc, Options{}, "", "name"},
		{"a bad top-level name", "version: '2'\nname: Bad_Name\nlabels: {gleaner.project_type: batch}\n" + svc, Options{}, "", "name"},
		{"a bad flag", "version: '2'\nlabels: {gleaner.project_type: batch}\n" + svc, Options{Name: "Bad"}, "", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Convert([]byte(tc.doc), tc.opt)
			if tc.field != "" {
				if fe, ok := spec.AsFieldError(err); !ok || fe.Field != tc.field {
					t.Fatalf("error %v; want one on %s", err, tc.field)
				}
				return
			}
			if err != nil || r.Spec.Name != tc.want {
				t.Fatalf("name %v, %v; want %q", r, err, tc.want)
			}
		})
	}
	_, err := Convert([]byte("version: '2'\nlabels: {gleaner.project_type: batch}\n"+svc), Options{})
	if !errors.Is(err, ErrNoName) {
		t.Fatalf("no name: %v", err)
	}
}

func TestNameFromDir(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/etl":                        "etl",
		"/srv/ETL_Nightly/":               "etl-nightly",
		"relative/dir.with.dots":          "dir-with-dots",
		"/srv/--x--":                      "x",
		"/":                               "",
		".":                               "",
		"":                                "",
		"/srv/日本":                         "",
		"/srv/" + strings.Repeat("a", 80): strings.Repeat("a", 63),
	} {
		if got := NameFromDir(in); got != want {
			t.Errorf("NameFromDir(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestUnmappedImageIsMarked(t *testing.T) {
	_, err := Convert([]byte("version: '2'\nlabels: {gleaner.project_type: batch, gleaner.project_name: x}\nservices: {a: {image: alpine, command: x}}\n"), Options{})
	if !errors.Is(err, ErrUnmappedImage) {
		t.Fatalf("unmapped image: %v", err)
	}
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "services.a.image" {
		t.Fatalf("field: %v", err)
	}
}
