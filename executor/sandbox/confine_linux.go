package sandbox

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// DeniedSyscalls are the system calls a task may never make; they fail with
// EPERM. They change the host (mount, modules, kexec, swap, clock, reboot),
// reach other processes (ptrace, process_vm_*, kcmp, pidfd_getfd), leave
// the task's namespaces (unshare, setns, clone of a user namespace) or widen
// the kernel's attack surface for an unprivileged process (bpf, keyrings,
// userfaultfd, perf events, io_uring, open_by_handle_at).
var DeniedSyscalls = []string{
	// mounts and roots
	"mount", "umount2", "pivot_root", "chroot", "mount_setattr",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	// namespaces
	"unshare", "setns",
	// kernel code, boot and system-wide settings
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
	"lookup_dcookie", "personality", "uselib", "ustat", "sysfs",
	// other processes
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	// surfaces an unprivileged task does not need
	"bpf", "keyctl", "add_key", "request_key", "userfaultfd", "perf_event_open",
	"open_by_handle_at", "name_to_handle_at", "fanotify_init",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
}

// cloneNewUser is CLONE_NEWUSER: a clone that asks for a new user namespace
// is refused like unshare (clone3 hides its flags in memory, so it fails
// with ENOSYS and callers fall back to clone).
const cloneNewUser = unix.CLONE_NEWUSER

// TaskPolicy is the default seccomp policy of every task: allow all but
// DeniedSyscalls (EPERM), clone with CLONE_NEWUSER (EPERM) and clone3 (ENOSYS).
func TaskPolicy() seccomp.Policy {
	eperm := seccomp.ActionErrno | seccomp.Action(unix.EPERM)
	enosys := seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)
	cloneFlagsArg := uint32(0) // clone(flags, ...) on amd64 and arm64
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: DeniedSyscalls, Action: eperm},
			{NamesWithCondtions: []seccomp.NameWithConditions{{Name: "clone", Conditions: seccomp.ArgumentConditions{
				{Argument: cloneFlagsArg, Operation: seccomp.BitsSet, Value: cloneNewUser}}}}, Action: eperm},
			{Names: []string{"clone3"}, Action: enosys},
		},
	}
}

// auditArch is the AUDIT_ARCH_* value of the executor's own architecture.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("seccomp: no task policy for %s", runtime.GOARCH)
}

// foreignArchFilter refuses every system call made through another ABI
// (i386 int 0x80 on amd64, arm32 on arm64), which the name-based policy of
// TaskPolicy lets through unfiltered.
func foreignArchFilter() ([]bpf.RawInstruction, error) {
	native, err := auditArch()
	if err != nil {
		return nil, err
	}
	const archOffset = 4 // struct seccomp_data { int nr; __u32 arch; ... }
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: archOffset, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: native, SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)},
		bpf.RetConstant{Val: uint32(seccomp.ActionAllow)},
	})
}

// loadSeccomp installs the task policy on every thread of this process
// (and so on everything it starts): the foreign-ABI guard first, then
// TaskPolicy. no_new_privs must already be set.
func loadSeccomp() error {
	raw, err := foreignArchFilter()
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp: foreign-ABI filter: %w", errno)
	}
	if err := seccomp.LoadFilter(seccomp.Filter{NoNewPrivs: true, Flag: seccomp.FilterFlagTSync, Policy: TaskPolicy()}); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}

// dropCapabilities empties the bounding and ambient sets and the inheritable
// set, so nothing this process execs, root included, holds a capability;
// the process keeps its own effective set (it still has to switch users).
func dropCapabilities() error {
	for c := 0; ; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, syscall.EINVAL) {
			if c == 0 {
				return errors.New("drop capabilities: the kernel knows no capability")
			}
			break // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear inheritable capabilities: %w", err)
	}
	return nil
}
