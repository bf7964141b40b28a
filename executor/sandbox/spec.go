package sandbox

// Volume is a host path bind-mounted into the task's root.
type Volume struct {
	HostPath      string `json:"host_path"`
	ContainerPath string `json:"container_path"`
	ReadOnly      bool   `json:"read_only"`
}

// Spec is everything the helper needs; the executor sends it as JSON over a
// pipe once the helper sits in the task's cgroups.
type Spec struct {
	// Rootfs is the extracted bundle (read-only lower layer); empty runs on
	// the host without a new root.
	Rootfs string `json:"rootfs,omitempty"`
	// StateDir holds the writable layer and the mount point
	// (upper/, work/, merged/) on the host.
	StateDir string `json:"state_dir,omitempty"`
	// Sandbox is the task's host sandbox directory, bind-mounted at
	// SandboxTarget: a path inside the root with a bundle; without one, a
	// host path (the executor's run directory), covered in the task's own
	// mount namespace.
	Sandbox       string   `json:"sandbox,omitempty"`
	SandboxTarget string   `json:"sandbox_target,omitempty"`
	Volumes       []Volume `json:"volumes,omitempty"`
	// PrivateTmp, for a task without a bundle, is a host directory whose
	// tmp/ and var-tmp/ are bound over /tmp and /var/tmp in the task's mount
	// namespace (and /dev/shm gets a fresh tmpfs), so tasks never share the
	// host's temporary directories. A task with a bundle has its own /tmp
	// in its overlay already.
	PrivateTmp string `json:"private_tmp,omitempty"`
	// NoPivot forces plain chroot (as on kernels where pivot_root fails).
	NoPivot bool `json:"no_pivot,omitempty"`
	// NoOverlay forces copying the bundle instead of an overlay mount.
	NoOverlay bool `json:"no_overlay,omitempty"`

	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	WorkDir string   `json:"work_dir,omitempty"`

	// The task runs as UID:GID with Groups, without any capability (even
	// as root), with no_new_privs and TaskPolicy's seccomp filter.
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// KeepRoot skips the credential switch when the task must run as root.
	KeepRoot bool `json:"keep_root,omitempty"`
}

// DefaultPath is PATH when the task's environment sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// PrivateTmpDirs maps the subdirectories of Spec.PrivateTmp to where a
// task without a bundle sees them.
var PrivateTmpDirs = map[string]string{"tmp": "/tmp", "var-tmp": "/var/tmp"}

// DefaultSandboxTarget is where the task's sandbox appears inside its root,
// as with the Mesos containerizer.
const DefaultSandboxTarget = "/mnt/mesos/sandbox"
