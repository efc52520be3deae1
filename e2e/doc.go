// Package e2e tests bitqueue end to end: the real producer and worker
// binaries, several worker processes, and a Redis (REDIS_URL when set,
// otherwise an embedded one started by the test).
package e2e
