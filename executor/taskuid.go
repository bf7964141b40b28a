package executor

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// DefaultTaskUIDRange is the range per-job task uids (and gids) come from
// unless --task-uid-range or $GLEANER_TASK_UID_RANGE says otherwise: above
// the regular users (1000–60000), nobody (65534) and the first subordinate
// range useradd hands out (100000–165535), below systemd's container ranges
// (524288 and up). A host whose /etc/subuid gives further users ranges
// (165536–231071, 231072–296607, …) overlaps it: the executor warns at
// start, and the operator picks another range. Nothing else may own uids of
// the range.
const DefaultTaskUIDRange = "200000-299999"

// TaskUIDRangeEnv names the uid range when --task-uid-range is not given
// (the agent passes its environment to executors).
const TaskUIDRangeEnv = "GLEANER_TASK_UID_RANGE"

// minTaskUID keeps per-job uids out of the system accounts' range.
const minTaskUID = 1000

// UIDRange is an inclusive range of host uids from which each job's tasks
// get a uid (and the same gid). The zero value is off: tasks run as the
// executor's --user unless their payload names a user.
type UIDRange struct{ First, Last uint32 }

// ParseUIDRange reads "FIRST-LAST" (inclusive) or "off".
func ParseUIDRange(s string) (UIDRange, error) {
	if s == "off" {
		return UIDRange{}, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return UIDRange{}, fmt.Errorf("task uid range %q: want FIRST-LAST (e.g. %s) or off", s, DefaultTaskUIDRange)
	}
	first, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 32)
	last, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 32)
	switch {
	case err1 != nil || err2 != nil:
		return UIDRange{}, fmt.Errorf("task uid range %q: FIRST and LAST must be uids (0–4294967294)", s)
	case first < minTaskUID:
		return UIDRange{}, fmt.Errorf("task uid range %q: FIRST must be at least %d (below are system accounts)", s, minTaskUID)
	case last < first:
		return UIDRange{}, fmt.Errorf("task uid range %q: LAST is below FIRST", s)
	case last >= 1<<32-1:
		return UIDRange{}, fmt.Errorf("task uid range %q: LAST must be below 4294967295 (that is (uid_t)-1)", s)
	}
	return UIDRange{First: uint32(first), Last: uint32(last)}, nil
}

// Enabled reports whether jobs get their own uids.
func (r UIDRange) Enabled() bool { return r.First != 0 }

// Size is the number of uids in the range.
func (r UIDRange) Size() uint64 {
	if !r.Enabled() {
		return 0
	}
	return uint64(r.Last) - uint64(r.First) + 1
}

func (r UIDRange) String() string {
	if !r.Enabled() {
		return "off"
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// ForJob is the uid of a job's tasks: the FNV-1a hash of the job id modulo
// the range's size, so every executor on every agent picks the same uid for
// a job without asking anyone. Two jobs share a uid with probability
// 1/Size (1 in 100,000 with the default range).
func (r UIDRange) ForJob(jobID string) uint32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(jobID))
	return r.First + uint32(h.Sum64()%r.Size())
}

// taskUser is the user a task runs as: the payload's own user, else the
// job's uid from the range (uid and gid alike), else the executor's
// default user (a task without a job id, or the range is off).
func taskUser(payloadUser, jobID string, r UIDRange, defaultUser string) string {
	switch {
	case payloadUser != "":
		return payloadUser
	case r.Enabled() && jobID != "":
		uid := r.ForJob(jobID)
		return fmt.Sprintf("%d:%d", uid, uid)
	}
	return defaultUser
}

// hostIDFiles are read at start to warn about uids of the range that the
// host already gives someone.
var hostIDFiles = struct{ passwd, subuid, subgid string }{"/etc/passwd", "/etc/subuid", "/etc/subgid"}

// rangeConflicts lists what in passwd ("name:x:uid:…") or subid
// ("name:first:count") files already owns uids of r, file by file.
func rangeConflicts(r UIDRange, passwd, subuid, subgid string) []string {
	if !r.Enabled() {
		return nil
	}
	var out []string
	overlaps := func(first, count uint64) bool {
		return count > 0 && first <= uint64(r.Last) && first+count-1 >= uint64(r.First)
	}
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 {
			continue
		}
		if uid, err := strconv.ParseUint(f[2], 10, 32); err == nil && overlaps(uid, 1) {
			out = append(out, fmt.Sprintf("user %s has uid %d", f[0], uid))
		}
	}
	for _, sub := range []struct{ file, text string }{{"subuid", subuid}, {"subgid", subgid}} {
		for _, line := range strings.Split(sub.text, "\n") {
			f := strings.Split(strings.TrimSpace(line), ":")
			if len(f) != 3 {
				continue
			}
			first, err1 := strconv.ParseUint(f[1], 10, 32)
			count, err2 := strconv.ParseUint(f[2], 10, 32)
			if err1 == nil && err2 == nil && overlaps(first, count) {
				out = append(out, fmt.Sprintf("%s gives %s %d-%d", sub.file, f[0], first, first+count-1))
			}
		}
	}
	return out
}
