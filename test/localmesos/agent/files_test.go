package agent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestFilesReadConfinedToWorkDir(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	sb := filepath.Join(root, "slaves", "a1", "sandbox")
	if err := os.MkdirAll(sb, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sb, "stdout"), []byte("hello\nworld\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(sb, "escape")); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{WorkDir: root}}
	read := func(q url.Values) (int, FileRead) {
		rec := httptest.NewRecorder()
		a.serveFilesRead(rec, httptest.NewRequest(http.MethodGet, "/files/read?"+q.Encode(), nil))
		var fr FileRead
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &fr); err != nil {
				t.Fatalf("decode %q: %v", rec.Body.String(), err)
			}
		}
		return rec.Code, fr
	}
	stdout := filepath.Join(sb, "stdout")
	for _, tc := range []struct {
		name   string
		q      url.Values
		code   int
		data   string
		offset int64
	}{
		{"whole file", url.Values{"path": {stdout}, "offset": {"0"}}, 200, "hello\nworld\n", 0},
		{"offset and length", url.Values{"path": {stdout}, "offset": {"6"}, "length": {"3"}}, 200, "wor", 6},
		{"size with offset -1", url.Values{"path": {stdout}, "offset": {"-1"}}, 200, "", 12},
		{"at the end", url.Values{"path": {stdout}, "offset": {"12"}}, 200, "", 12},
		{"beyond the end", url.Values{"path": {stdout}, "offset": {"13"}}, 400, "", 0},
		{"no offset", url.Values{"path": {stdout}}, 400, "", 0},
		{"no path", url.Values{"offset": {"0"}}, 400, "", 0},
		{"directory", url.Values{"path": {sb}, "offset": {"0"}}, 400, "", 0},
		{"missing file", url.Values{"path": {filepath.Join(sb, "nope")}, "offset": {"0"}}, 404, "", 0},
		{"outside the work dir", url.Values{"path": {secret}, "offset": {"0"}}, 404, "", 0},
		{"dot-dot out of the work dir", url.Values{"path": {sb + "/../../../../" + filepath.Base(outside) + "/secret"}, "offset": {"0"}}, 404, "", 0},
		{"relative path", url.Values{"path": {"slaves/a1/sandbox/stdout"}, "offset": {"0"}}, 404, "", 0},
		{"symlink out of the work dir", url.Values{"path": {filepath.Join(sb, "escape")}, "offset": {"0"}}, 403, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, fr := read(tc.q)
			if code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
			if code == 200 && (fr.Data != tc.data || fr.Offset != tc.offset) {
				t.Fatalf("got %+v, want data %q offset %d", fr, tc.data, tc.offset)
			}
		})
	}
}

func TestFilesBrowse(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "d", "tasks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d", "stderr"), []byte("xy"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{WorkDir: root}}
	rec := httptest.NewRecorder()
	a.serveFilesBrowse(rec, httptest.NewRequest(http.MethodGet, "/files/browse?path="+url.QueryEscape(filepath.Join(root, "d")), nil))
	if rec.Code != 200 {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	var got []FileEntry
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Path != filepath.Join(root, "d", "stderr") || got[0].Size != 2 || got[1].Path != filepath.Join(root, "d", "tasks") || got[1].Mode[0] != 'd' {
		t.Fatalf("browse: %+v", got)
	}
	rec = httptest.NewRecorder()
	a.serveFilesBrowse(rec, httptest.NewRequest(http.MethodGet, "/files/browse?path=/etc", nil))
	if rec.Code != 404 {
		t.Fatalf("browse /etc: %d, want 404", rec.Code)
	}
}
