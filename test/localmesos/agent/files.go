package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
)

// The agent's file endpoints, as a real agent serves them: GET
// /files/read?path=&offset=&length= and /files/browse?path=, for files under
// the agent's work directory only (where the sandboxes live). A path outside
// it is not attached (404), one that escapes it through a symlink is
// forbidden (403).

// maxReadLength bounds one /files/read answer (a real agent uses a few pages).
const maxReadLength = 1 << 20

// resolveFile confines p to root. It returns the real path or an HTTP code
// and message.
func resolveFile(root, p string) (string, int, string) {
	if root == "" {
		return "", http.StatusNotFound, "No file or directory found at path"
	}
	if p == "" {
		return "", http.StatusBadRequest, "Expecting 'path=value' in query"
	}
	if !filepath.IsAbs(p) {
		return "", http.StatusNotFound, "No file or directory found at path " + strconv.Quote(p)
	}
	clean := filepath.Clean(p)
	rootClean := filepath.Clean(root)
	if !within(rootClean, clean) {
		return "", http.StatusNotFound, "No file or directory found at path " + strconv.Quote(p)
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return "", http.StatusNotFound, "No file or directory found at path " + strconv.Quote(p)
	}
	realRoot, err := filepath.EvalSymlinks(rootClean)
	if err != nil {
		return "", http.StatusNotFound, "No file or directory found at path " + strconv.Quote(p)
	}
	if !within(realRoot, real) {
		return "", http.StatusForbidden, "Path " + strconv.Quote(p) + " leads outside the agent's work directory"
	}
	return real, 0, ""
}

func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// FileRead is the body of /files/read.
type FileRead struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

func (a *Agent) serveFilesRead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, code, msg := resolveFile(a.cfg.WorkDir, q.Get("path"))
	if code != 0 {
		http.Error(w, msg, code)
		return
	}
	if !q.Has("offset") {
		http.Error(w, "Expecting 'offset=value' in query", http.StatusBadRequest)
		return
	}
	offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err != nil || offset < -1 {
		http.Error(w, "Failed to parse offset: "+strconv.Quote(q.Get("offset")), http.StatusBadRequest)
		return
	}
	length := int64(maxReadLength)
	if q.Has("length") {
		l, err := strconv.ParseInt(q.Get("length"), 10, 64)
		if err != nil || l < -1 {
			http.Error(w, "Failed to parse length: "+strconv.Quote(q.Get("length")), http.StatusBadRequest)
			return
		}
		if l >= 0 && l < length {
			length = l
		}
	}
	f, err := os.Open(p)
	if err != nil {
		http.Error(w, "Failed to open file: "+err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "Failed to stat file: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if st.IsDir() {
		http.Error(w, "Cannot read a directory", http.StatusBadRequest)
		return
	}
	if offset == -1 {
		writeFileJSON(w, FileRead{Offset: st.Size()})
		return
	}
	if offset > st.Size() {
		http.Error(w, fmt.Sprintf("Requested offset %d is beyond the file size %d", offset, st.Size()), http.StatusBadRequest)
		return
	}
	buf := make([]byte, min(length, st.Size()-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "Failed to read file: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeFileJSON(w, FileRead{Data: string(buf[:n]), Offset: offset})
}

// FileEntry is one element of /files/browse.
type FileEntry struct {
	Path  string  `json:"path"`
	Size  int64   `json:"size"`
	Mtime float64 `json:"mtime"`
	Mode  string  `json:"mode"`
	Nlink int     `json:"nlink"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
}

func (a *Agent) serveFilesBrowse(w http.ResponseWriter, r *http.Request) {
	p, code, msg := resolveFile(a.cfg.WorkDir, r.URL.Query().Get("path"))
	if code != 0 {
		http.Error(w, msg, code)
		return
	}
	shown := filepath.Clean(r.URL.Query().Get("path"))
	st, err := os.Stat(p)
	if err != nil {
		http.Error(w, "No file or directory found", http.StatusNotFound)
		return
	}
	var out []FileEntry
	if !st.IsDir() {
		out = append(out, entry(shown, st))
	} else {
		ents, err := os.ReadDir(p)
		if err != nil {
			http.Error(w, "Failed to list directory: "+err.Error(), http.StatusInternalServerError)
			return
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, entry(filepath.Join(shown, e.Name()), info))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if out == nil {
		out = []FileEntry{}
	}
	writeFileJSON(w, out)
}

func entry(path string, st fs.FileInfo) FileEntry {
	return FileEntry{Path: path, Size: st.Size(), Mtime: float64(st.ModTime().UnixNano()) / 1e9, Mode: st.Mode().String(), Nlink: 1}
}

func writeFileJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// ---- /state: the parts a framework needs to find a sandbox ----

// StateTask, StateExecutor and StateFramework are the subset of a real
// agent's /state JSON the local agent serves.
type StateTask struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	State       string `json:"state"`
}

type StateExecutor struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Container      string      `json:"container"`
	Directory      string      `json:"directory"`
	Tasks          []StateTask `json:"tasks"`
	QueuedTasks    []StateTask `json:"queued_tasks"`
	CompletedTasks []StateTask `json:"completed_tasks"`
}

type StateFramework struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Executors          []StateExecutor `json:"executors"`
	CompletedExecutors []StateExecutor `json:"completed_executors"`
}

// State is the body of GET /state.
type State struct {
	ID                  string           `json:"id"`
	Hostname            string           `json:"hostname"`
	Version             string           `json:"version"`
	Frameworks          []StateFramework `json:"frameworks"`
	CompletedFrameworks []StateFramework `json:"completed_frameworks"`
}

func (a *Agent) serveState(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	st := a.stateLocked()
	a.mu.Unlock()
	writeFileJSON(w, st)
}

func (a *Agent) stateLocked() State {
	st := State{ID: a.id.Value, Hostname: a.agentInfoLocked().Hostname, Version: MesosVersion,
		Frameworks: []StateFramework{}, CompletedFrameworks: []StateFramework{}}
	execs := map[*executorRun]*StateExecutor{}
	var order []*executorRun
	add := func(t *task) {
		ex := t.ex
		if ex == nil || ex.fw == nil {
			return
		}
		se := execs[ex]
		if se == nil {
			se = &StateExecutor{ID: ex.info.ExecutorID.Value, Name: ex.info.GetName(), Container: ex.containerID.Value, Directory: ex.dir,
				Tasks: []StateTask{}, QueuedTasks: []StateTask{}, CompletedTasks: []StateTask{}}
			execs[ex] = se
			order = append(order, ex)
		}
		stt := StateTask{ID: t.info.TaskID.Value, Name: t.info.Name, FrameworkID: ex.fw.id(), ExecutorID: ex.info.ExecutorID.Value, State: t.state.String()}
		switch {
		case link.IsTerminal(t.state):
			se.CompletedTasks = append(se.CompletedTasks, stt)
		case !t.delivered:
			se.QueuedTasks = append(se.QueuedTasks, stt)
		default:
			se.Tasks = append(se.Tasks, stt)
		}
	}
	fws := make([]*framework, 0, len(a.frameworks))
	for _, fw := range a.frameworks {
		fws = append(fws, fw)
		for _, t := range sortedTasks(fw.tasks) {
			add(t)
		}
	}
	for _, t := range a.completed {
		add(t)
	}
	byFw := map[string]*StateFramework{}
	for _, fw := range fws {
		byFw[fw.id()] = &StateFramework{ID: fw.id(), Name: fw.info.Name, Executors: []StateExecutor{}, CompletedExecutors: []StateExecutor{}}
	}
	for _, ex := range order {
		sf := byFw[ex.fw.id()]
		if sf == nil {
			sf = &StateFramework{ID: ex.fw.id(), Name: ex.fw.info.Name, Executors: []StateExecutor{}, CompletedExecutors: []StateExecutor{}}
			byFw[ex.fw.id()] = sf
		}
		if ex.state == execTerminated || ex.exited {
			sf.CompletedExecutors = append(sf.CompletedExecutors, *execs[ex])
		} else {
			sf.Executors = append(sf.Executors, *execs[ex])
		}
	}
	ids := make([]string, 0, len(byFw))
	for id := range byFw {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sf := byFw[id]
		if fw := a.frameworks[id]; fw != nil && !fw.removed {
			st.Frameworks = append(st.Frameworks, *sf)
		} else {
			st.CompletedFrameworks = append(st.CompletedFrameworks, *sf)
		}
	}
	return st
}
