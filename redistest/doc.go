// Package redistest gives bitqueue's tests a Redis and the tools to run
// processes around it. It is test support, kept outside the product tree
// (cmd/, internal/), and the one place tests get a Redis from:
//
//   - the Redis at REDIS_URL, or an embedded one (miniredis) when it is
//     unset: Start and (*Redis).Namespace;
//   - real redis-server processes on free loopback ports, each with its own
//     data directory: NewServer (password, ACL users, TLS with generated
//     certificates, maxmemory, any redis-server argument), NewFailover (a
//     master, a replica and a sentinel), NewCluster (masters of a Redis
//     Cluster); a Server stops, restarts, is killed, paused and filled up;
//   - a Proxy in front of a Redis that refuses, hangs or drops connections
//     on command, to simulate an outage in-process where killing a server
//     is not needed;
//   - a goroutine-safe LogBuffer, Process (a child in its own process group
//     with its output captured) and Await, a poll with a timeout.
//
// The core returns errors and never imports testing, so that tools may use
// it too; the testing.TB wrappers (Start, StartServer, WaitFor, Spawn, …)
// live in tb.go, fail the test on error and register their cleanup with
// t.Cleanup.
//
// redis-server (Redis 7, as Debian ships it: TLS, sentinel and cluster built
// in) and, for a cluster, redis-cli must be on PATH for the real servers;
// NeedServer skips or fails a test, saying which, when they are not.
package redistest
