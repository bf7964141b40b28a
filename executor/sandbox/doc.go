// Package sandbox starts a task's process: a re-executed helper (the
// executor's own binary with a hidden argument) joins the task's cgroups,
// builds a private mount namespace (overlay of the bundle, /proc, a minimal
// /dev, the sandbox and volumes), pivots or chroots into it, drops to an
// unprivileged user with no_new_privs, and execs the task.
package sandbox
