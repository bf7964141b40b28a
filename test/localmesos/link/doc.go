// Package link is the in-process contract between the local Mesos master and
// its agents. In real Mesos these are libprocess messages between processes;
// here they are method calls, while everything a framework or an executor sees
// stays on the real v1 HTTP APIs.
package link
