// Package mesostest is a minimal mesos-go framework for tests of the local
// Mesos: it subscribes through controller.Run, records every event, and lets a
// test wait for the events it expects.
package mesostest
