package redisconn

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"syscall"

	"bitqueue/internal/rdb"
)

// schemeHint returns a hint for an error that may come from a URL scheme that
// does not match the server: a TLS port closes a plaintext connection at
// once, and a plaintext port never answers a TLS handshake.
func schemeHint(err error, rawURL string) string {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		return ""
	}
	msg := err.Error()
	switch {
	case isTLS(u.Scheme) && (errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "timeout")):
		return " (if the port serves plaintext, it never answers the TLS handshake of a rediss:// URL)"
	case !isTLS(u.Scheme) && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || strings.HasSuffix(msg, "EOF") || strings.Contains(msg, "connection reset by peer")):
		return " (the server closed the connection at once: if it serves TLS, use a rediss:// URL)"
	}
	return ""
}

// redactClientErr replaces the password db authenticates with, which may
// have come from REDIS_PASSWORD rather than the URL, wherever err shows it.
func redactClientErr(err error, db *rdb.RDB) error {
	pw := db.Password()
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// hideQuerySecrets replaces the values of query options whose name holds
// "pass" or "secret" (such as ?sentinel_password=), which no URL form takes
// but a user may try.
func hideQuerySecrets(u *url.URL) {
	q := u.Query()
	hidden := false
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.Contains(lk, "pass") || strings.Contains(lk, "secret") {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			hidden = true
		}
	}
	if hidden {
		u.RawQuery = q.Encode()
	}
}
