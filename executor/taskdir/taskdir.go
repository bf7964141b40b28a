// Package taskdir names what the executor makes per task: its directory in
// the executor's sandbox (<sandbox>/tasks/<Name(task id)>, holding the
// task's stdout and stderr) and its cgroup. The scheduler's logs API reads
// the files the executor writes there, so both take the name from here.
package taskdir

import "strings"

var unsafe = strings.NewReplacer("/", "_", "\x00", "_")

// Name is a task id made safe as one path element: no slash or NUL, and
// never "", "." or "..".
func Name(taskID string) string {
	s := unsafe.Replace(taskID)
	if s == "." || s == ".." || s == "" {
		s = "_" + s
	}
	return s
}
