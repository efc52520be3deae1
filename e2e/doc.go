// Package e2e tests bitqueue end to end: the real producer and worker
// binaries, several worker processes, and a Redis (REDIS_URL when set,
// otherwise an embedded one started by the test). The fault tests
// (faults_test.go) and the deployment tests start redis-server processes of
// their own, which they stop, kill, restart or fill.
package e2e
