// Package agenttest is a small fake Mesos agent serving the v1 executor API
// (SUBSCRIBE, UPDATE with ACKNOWLEDGED, LAUNCH, KILL, SHUTDOWN) for driving an
// executor in tests, including an agent restart.
package agenttest
