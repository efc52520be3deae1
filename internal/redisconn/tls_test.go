package redisconn_test

import (
	"bitqueue/internal/rdb"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/redisconn"
	"bitqueue/redistest"
)

// TestTLS runs rediss:// against a redis-server that speaks TLS only, with a
// certificate signed by a CA made for the test.
func TestTLS(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1", "localhost")
	srv := redistest.StartServer(t, redistest.Options{TLS: certs, Password: password})
	other := redistest.GenerateCerts(t, "127.0.0.1") // a CA the server's certificate is not signed by
	tlsURL := "rediss://:" + password + "@" + srv.Addr + "/0"
	port := strings.TrimPrefix(srv.Addr, "127.0.0.1:")

	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want string // "" when Redis must answer; otherwise part of the error
		fast bool   // the error comes at once, not after waiting
	}{
		{"CA added", tlsURL, redisconn.Options{CAFile: certs.CA}, "", false},
		{"CA added, name from the certificate", "rediss://:" + password + "@localhost:" + port + "/0", redisconn.Options{CAFile: certs.CA}, "", false},
		{"CA added, server name set", tlsURL, redisconn.Options{CAFile: certs.CA, ServerName: "localhost"}, "", false},
		{"password from the environment", "rediss://" + srv.Addr + "/0", redisconn.Options{CAFile: certs.CA, Password: password}, "", false},
		{"system CAs only", tlsURL, redisconn.Options{}, "not signed by a trusted CA: add the CA with --redis-ca FILE", true},
		{"another CA", tlsURL, redisconn.Options{CAFile: other.CA}, "not signed by a trusted CA", true},
		{"name not in the certificate", tlsURL, redisconn.Options{CAFile: certs.CA, ServerName: "redis.example.com"}, "does not hold the host name", true},
		{"wrong password", "rediss://:wrong-" + password + "@" + srv.Addr + "/0", redisconn.Options{CAFile: certs.CA}, "check the user and password", true},
		{"plaintext to the TLS port", "redis://:" + password + "@" + srv.Addr + "/0", redisconn.Options{}, "use a rediss:// URL", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, tt.opts)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			log, logs := newLogger()
			maxWait := 20 * time.Second
			if !tt.fast && tt.want != "" {
				maxWait = 2 * time.Second
			}
			start := time.Now()
			err = redisconn.Wait(context.Background(), rdb.New(c, ""), tt.url, maxWait, log)
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, c.Set(context.Background(), "tls-test:"+tt.name, "x", time.Minute).Err())
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			if tt.fast {
				require.Less(t, time.Since(start), 10*time.Second, "a certificate or password error ends the wait at once")
				require.Empty(t, logs.String(), "no retries")
			}
			requireNoSecret(t, err.Error())
			requireNoSecret(t, logs.String())
		})
	}
}

// TestTLSToPlaintextServer checks that a rediss:// URL never falls back to
// plaintext: against a plaintext server it gets no answer, and says why.
func TestTLSToPlaintextServer(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1")
	srv := redistest.StartServer(t, redistest.Options{Password: password})
	url := "rediss://:" + password + "@" + srv.Addr + "/0"
	c, err := redisconn.OpenWith(url, redisconn.Options{CAFile: certs.CA})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	log, _ := newLogger()
	err = redisconn.Wait(context.Background(), rdb.New(c, ""), url, 3*time.Second, log)
	require.ErrorContains(t, err, "did not answer within 3s")
	require.ErrorContains(t, err, "never answers the TLS handshake")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.Error(t, c.Set(ctx, "tls-test:plaintext", "x", time.Minute).Err(), "a write over rediss:// to a plaintext server")
	plain := srv.ClientT(t)
	require.Zero(t, plain.Exists(context.Background(), "tls-test:plaintext").Val(), "nothing reached the server in plaintext")
	requireNoSecret(t, err.Error())
}

// TestTLSOptions covers the TLS settings that are refused before any
// connection is made.
func TestTLSOptions(t *testing.T) {
	t.Parallel()
	certs := redistest.GenerateCerts(t, "127.0.0.1")
	notPEM := t.TempDir() + "/ca.txt"
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	tests := []struct {
		name string
		url  string
		opts redisconn.Options
		want string
	}{
		{"CA with plaintext", "redis://:" + password + "@h:6379/0", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"server name with plaintext", "redis://h:6379/0", redisconn.Options{ServerName: "h"}, "need a rediss:// URL"},
		{"CA with sentinel", "redis-sentinel://h:26379?master=m", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"CA with cluster", "redis-cluster://h:7000", redisconn.Options{CAFile: certs.CA}, "need a rediss:// URL"},
		{"skip_verify", "rediss://:" + password + "@h:6380/0?skip_verify=true", redisconn.Options{}, "cannot be turned off"},
		{"skip_verify false", "rediss://h:6380/0?skip_verify=false", redisconn.Options{}, "cannot be turned off"},
		{"missing CA file", "rediss://h:6380/0", redisconn.Options{CAFile: "/nonexistent/ca.pem"}, "--redis-ca"},
		{"CA file without a certificate", "rediss://h:6380/0", redisconn.Options{CAFile: notPEM}, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := redisconn.OpenWith(tt.url, tt.opts)
			require.Nil(t, c)
			require.ErrorContains(t, err, tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "redis URL "), err.Error())
			requireNoSecret(t, err.Error())
		})
	}
}
