// Package fakeagent is an in-memory link.Agent without executors or
// processes: tasks go RUNNING and then end as their command says, with
// reliable status updates sent one at a time until acknowledged. It serves
// master tests and the simulated-tasks fallback of the local Mesos.
package fakeagent
