// Package deploy holds Gleaner's packaging: make dist builds a static binary
// into a tarball that installs into one directory (bin/, etc/, systemd/, var/)
// and touches nothing else on the host. The Go code here only tests that.
package deploy
