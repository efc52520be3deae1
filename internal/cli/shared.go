package cli

import (
	"io"
	"time"

	"bitqueue/internal/base"
	"bitqueue/internal/logging"
	"bitqueue/internal/redisconn"
)

// The flags several commands share, declared once each. A command embeds
// them in its grammar with the group its help shows them under:
//
//	Redis cli.Redis     `embed:"" group:"Redis"`
//	Wait  cli.RedisWait `embed:"" group:"Redis"`
//	Log   cli.Logging   `embed:"" group:"Logging"`
//
// Their variables are the same in every command (BITQUEUE_REDIS_URL,
// BITQUEUE_LOG_FORMAT, …), whatever the command's Prefix.

// Redis is the flags of a command that connects to Redis: the URL and the
// TLS settings. Passwords have variables only, never flags, so that no
// password shows in a process listing: Options reads them.
type Redis struct {
	URL        string `name:"redis" var:"BITQUEUE_REDIS_URL" default:"${redis_url}" placeholder:"URL" help:"Redis URL: redis://[user:password@]host:port/db, rediss://…, redis-sentinel://host:port[,…][/db]?master=NAME or redis-cluster://host:port[,…]; rediss-sentinel:// and rediss-cluster:// over TLS (password: in the URL or $BITQUEUE_REDIS_PASSWORD)"`
	CAFile     string `name:"redis-ca" var:"BITQUEUE_REDIS_CA" placeholder:"file" help:"PEM file of CA certificates to trust, besides the system's, for a rediss:// server's certificate"`
	ServerName string `name:"redis-tls-server-name" var:"BITQUEUE_REDIS_TLS_SERVER_NAME" placeholder:"name" help:"name the rediss:// server's certificate must hold (default: the URL's host)"`
}

// The variables of the Redis passwords, which have no flags. Each has an
// older name, in Aliases, that still works.
const (
	// PasswordVar holds the Redis password used when the URL carries none.
	PasswordVar = "BITQUEUE_REDIS_PASSWORD"
	// SentinelPasswordVar holds the password of the sentinels of a
	// redis-sentinel:// URL.
	SentinelPasswordVar = "BITQUEUE_REDIS_SENTINEL_PASSWORD"
)

// Options returns the connection settings besides the URL: the TLS flags,
// and the passwords from PasswordVar and SentinelPasswordVar (or their
// older names, REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD).
func (r Redis) Options(getenv func(string) string) redisconn.Options {
	_, password := Lookup(getenv, PasswordVar)
	_, sentinel := Lookup(getenv, SentinelPasswordVar)
	return redisconn.Options{Password: password, SentinelPassword: sentinel, CAFile: r.CAFile, ServerName: r.ServerName}
}

// RedisWait is --redis-wait, of the commands that wait for Redis to answer.
// Its default and help may differ from command to command: Command.Vars
// redis_wait and redis_wait_help set them.
type RedisWait struct {
	Wait time.Duration `name:"redis-wait" var:"BITQUEUE_REDIS_WAIT" default:"${redis_wait=10s}" help:"${redis_wait_help=how long to wait for Redis to answer before giving up}"`
}

// Check refuses a --redis-wait that is not positive.
func (w RedisWait) Check(p *Parsed) error {
	if w.Wait <= 0 {
		return Usagef("%s must be positive", p.Source("redis-wait"))
	}
	return nil
}

// Prefix is --prefix, the root of bitqueue's keys in Redis.
type Prefix struct {
	Prefix string `name:"prefix" var:"BITQUEUE_PREFIX" default:"${prefix}" placeholder:"prefix" help:"root of the keys in Redis: results at <prefix>:result:<run-id>:<seq>, done bitmaps at <prefix>:done:<run-id>, run records at <prefix>:run:<run-id>; give the producer and its workers the same"`
}

// Check refuses a prefix that is empty or holds spaces.
func (x Prefix) Check(p *Parsed) error {
	if base.CheckPrefix(x.Prefix) != nil {
		return Usagef("%s must be non-empty without spaces", p.Source("prefix"))
	}
	return nil
}

// Logging is --log-format and --log-level.
type Logging struct {
	Format string `name:"log-format" var:"BITQUEUE_LOG_FORMAT" default:"text" placeholder:"format" help:"log format: text or json (the final error line too)"`
	Level  string `name:"log-level" var:"BITQUEUE_LOG_LEVEL" default:"info" placeholder:"level" help:"log level: debug, info, warn or error"`
}

// Check refuses a format or a level logging does not know.
func (l Logging) Check(p *Parsed) error {
	if l.Format != "text" && l.Format != "json" {
		return Usagef("%s: want text or json", p.Source("log-format"))
	}
	if _, err := logging.New(io.Discard, l.Format, l.Level); err != nil {
		return Usagef("%s: want debug, info, warn or error", p.Source("log-level"))
	}
	return nil
}
