// Package gleanerpb is the generated gogo code for executor.proto: the task
// payload the scheduler puts in TaskInfo.data and the result the executor reports back.
package gleanerpb
