package rdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// IsOutOfMemory reports whether err is Redis refusing a write because used
// memory is above maxmemory (the "OOM command not allowed" reply, sent under
// the noeviction policy): go-redis's typed reply, or its wording where asynq
// turned a script's error into text.
func IsOutOfMemory(err error) bool {
	return err != nil && (redis.IsOOMError(err) || strings.Contains(err.Error(), "OOM command not allowed"))
}

// transientReplies are the parts of error messages that mean Redis is
// restarting, failing over or unreachable for now, for the errors that reach
// bitqueue as text only: asynq turns the errors of its scripts into strings
// ("redis eval error: …"), so the wording is all that is left of them
// (TestAsynqErrorsAreText pins that against the real asynq). Each holds a
// space, so that a run id or a key (which never do) cannot imitate one.
var transientReplies = []string{
	"connection refused",
	"connection reset",
	"broken pipe",
	"i/o timeout",
	"use of closed network connection",
	"connection pool timeout",
	"failed to dial",
	"no route to host",
	"network is unreachable",
	"LOADING ",     // Redis is loading its data set after a restart
	"READONLY ",    // a replica during failover
	"MASTERDOWN ",  // a replica that lost its master
	"TRYAGAIN ",    // cluster resharding
	"CLUSTERDOWN ", // cluster not serving
	"BUSY ",        // a long script is running (go-redis has no type for it)
}

// IsTransient reports whether err goes away by itself when Redis comes back:
// a refused, reset, closed or timed-out connection, or a Redis that is
// loading its data, failing over or busy. Other errors (out of memory, no
// permission, a wrong key type, a cancelled context, any IsFatal error) are
// not. Types come first — go-redis's replies, net.Error, syscall errors —
// and the wording only for what asynq hands over as text.
func IsTransient(err error) bool {
	if err == nil || IsOutOfMemory(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if _, fatal := IsFatal(err); fatal {
		return false
	}
	var ne net.Error
	switch {
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsMasterDownError(err),
		redis.IsTryAgainError(err), redis.IsClusterDownError(err), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	if strings.HasSuffix(msg, ": EOF") { // a connection closed under a command, as asynq words it
		return true
	}
	for _, s := range transientReplies {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// IsFatal reports whether err is one that waiting for Redis cannot cure,
// with a hint of what to fix: a server certificate that does not verify, a
// server that does not speak TLS, wrong or missing credentials, a user
// without the permission a command needs (NOPERM), a database number the
// server does not have, or a command the server does not know (not Redis,
// or a Redis with the command renamed away). Redis's replies are told by
// their type (redis.Error) and code, never by text that a run id or a key
// could imitate.
func IsFatal(err error) (hint string, fatal bool) {
	if err == nil {
		return "", false
	}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &hostErr):
		return "the server's TLS certificate does not hold the host name of the URL: connect by a name it holds, or give that name with --redis-tls-server-name", true
	case errors.As(err, &authErr):
		return "the server's TLS certificate is not signed by a trusted CA: add the CA with --redis-ca FILE; verification is never turned off", true
	case errors.As(err, &invalidErr):
		return "the server's TLS certificate is not valid (expired, not yet valid, or not for a server)", true
	case errors.As(err, &verifyErr):
		return "the server's TLS certificate does not verify", true
	case errors.As(err, &recordErr):
		return "the server does not speak TLS on this port", true
	case redis.IsAuthError(err),
		// Redis's reply to AUTH on a server without a password is a
		// plain ERR, which go-redis does not type.
		strings.Contains(err.Error(), "called without any password configured"):
		return "check the user and password: from the URL, or BITQUEUE_REDIS_PASSWORD (or REDIS_PASSWORD) when the URL has none (sentinels: BITQUEUE_REDIS_SENTINEL_PASSWORD)", true
	case redis.IsPermissionError(err):
		return "the URL's user lacks a permission bitqueue needs: grant it with ACL SETUSER (docs/redis.md, Credentials, gives a user with enough rights), or use another user", true
	case isReply(err, "ERR DB index is out of range", "ERR invalid DB index"): // the latter: older Redis versions, for a database that is no number
		return "the database at the end of the URL is not one this server has (it has /0 to /15 unless its databases setting says otherwise): fix --redis or BITQUEUE_REDIS_URL", true
	case isReply(err, "ERR unknown command"):
		return "the server does not know a command bitqueue sends: is it a Redis server, with no command renamed or disabled?", true
	}
	return "", false
}

// isReply reports whether err is, or wraps, a reply of Redis's that begins
// with one of prefixes.
func isReply(err error, prefixes ...string) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(reply.Error(), p) {
			return true
		}
	}
	return false
}

// execErr adds to a failed transaction's error the reply of the queued
// command that was refused: EXECABORT alone does not say why (LOADING while
// Redis loads its data after a restart, OOM when it is full).
func execErr(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && cerr.Error() != err.Error() {
			return fmt.Errorf("%w (%s: %v)", err, c.Name(), cerr)
		}
	}
	return err
}
