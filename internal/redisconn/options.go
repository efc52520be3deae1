package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Options are the connection settings that do not come from the URL.
type Options struct {
	// PoolSize, when positive, raises the connection pool (per node) to at
	// least that size.
	PoolSize int
	// Password authenticates to Redis when the URL has no password (the
	// commands read it from BITQUEUE_REDIS_PASSWORD, see cli.Redis). The
	// URL's user name, if any, goes with it.
	Password string
	// SentinelPassword authenticates to the sentinels of a redis-sentinel://
	// URL (BITQUEUE_REDIS_SENTINEL_PASSWORD); empty when they need none.
	SentinelPassword string
	// CAFile names a PEM file of CA certificates to trust, besides the
	// system's, for the server certificate of a rediss:// URL (--redis-ca).
	CAFile string
	// ServerName, when set, is the name the server certificate must hold,
	// instead of the URL's host (--redis-tls-server-name).
	ServerName string
}

// OpenWith returns a client for rawURL, which is one of
//
//	redis://[[user]:password@]host:port[/db][?option=value…]
//	rediss://[[user]:password@]host:port[/db][?option=value…]
//	redis-sentinel://[[user]:password@]host:port[,host:port…][/db]?master=NAME
//	rediss-sentinel://… (the same, over TLS)
//	redis-cluster://[[user]:password@]host:port[,host:port…]
//	rediss-cluster://… (the same, over TLS)
//
// redis and rediss URLs take go-redis's options (such as ?pool_size=), except
// skip_verify. A server certificate is always verified, against the system's
// CAs and o.CAFile. A sentinel URL lists sentinels; its user and password are
// those of the master and replicas, the sentinels' password is
// o.SentinelPassword. A cluster URL lists seed nodes of a Redis Cluster. The
// sentinel and cluster forms are read by go-redis's ParseFailoverURL and
// ParseClusterURL once put in their terms. TLS options with a URL that is not
// TLS are an error, never a silent fall back to plaintext; so are an address
// without a scheme (host:port) and a port outside 1..65535. Errors are
// *URLError, which show the URL redacted. OpenWith does not contact Redis;
// see Wait.
func OpenWith(rawURL string, o Options) (redis.UniversalClient, error) {
	if shown, ok := withoutScheme(rawURL); ok {
		return nil, &URLError{URL: shown, Err: noScheme(shown)}
	}
	u, err := parse(rawURL)
	if err != nil {
		return nil, &URLError{URL: Redact(rawURL), Err: err}
	}
	fail := func(err error) (redis.UniversalClient, error) {
		return nil, &URLError{URL: Redact(rawURL), Err: redactErr(err, rawURL)}
	}
	if !isTLS(u.Scheme) && (o.CAFile != "" || o.ServerName != "") {
		return fail(errors.New("--redis-ca and --redis-tls-server-name need a rediss:// URL (TLS; rediss-sentinel:// or rediss-cluster:// for Sentinel or Cluster); the connection is never made in plaintext instead"))
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Query().Has("skip_verify") {
			return fail(errors.New("skip_verify: certificate verification cannot be turned off; trust the server's CA with --redis-ca FILE"))
		}
		if err := checkPort(u.Port()); err != nil {
			return fail(err)
		}
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return fail(err)
		}
		if err := o.apply(&opt.Password, &opt.TLSConfig, &opt.PoolSize); err != nil {
			return fail(err)
		}
		return redis.NewClient(opt), nil
	case "redis-sentinel", "rediss-sentinel":
		fo, err := parseSentinel(u)
		if err != nil {
			return fail(err)
		}
		if err := o.apply(&fo.Password, &fo.TLSConfig, &fo.PoolSize); err != nil {
			return fail(err)
		}
		fo.SentinelPassword = o.SentinelPassword
		return redis.NewFailoverClient(fo), nil
	case "redis-cluster", "rediss-cluster":
		co, err := parseCluster(u)
		if err != nil {
			return fail(err)
		}
		if err := o.apply(&co.Password, &co.TLSConfig, &co.PoolSize); err != nil {
			return fail(err)
		}
		return redis.NewClusterClient(co), nil
	default:
		return fail(fmt.Errorf("scheme %q, want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster", u.Scheme))
	}
}

// apply gives a client's options, as the URL set them, what the URL leaves
// to o: o's password when the URL has none, o's TLS settings when the URL
// asks for TLS (tlsConf not nil, its server name the URL's host), and a
// pool of at least o.PoolSize. It is the same for a client of one Redis,
// of a failover set and of a cluster.
func (o Options) apply(password *string, tlsConf **tls.Config, poolSize *int) error {
	if *password == "" {
		*password = o.Password
	}
	if *tlsConf != nil {
		c, err := o.tlsConfig((*tlsConf).ServerName)
		if err != nil {
			return err
		}
		*tlsConf = c
	}
	*poolSize = max(*poolSize, o.PoolSize)
	return nil
}

// isTLS reports whether a URL scheme connects over TLS.
func isTLS(scheme string) bool { return strings.HasPrefix(scheme, "rediss") }

// tlsConfig returns the TLS configuration of a rediss:// connection to host:
// verification on, TLS 1.2 at least, o.CAFile trusted besides the system's
// CAs, and o.ServerName checked instead of host when set.
func (o Options) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if o.ServerName != "" {
		cfg.ServerName = o.ServerName
	}
	if o.CAFile == "" {
		return cfg, nil
	}
	pemData, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--redis-ca: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("--redis-ca %s holds no PEM certificate", o.CAFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// parseSentinel reads redis[s]-sentinel://[[user]:password@]host:port[,…][/db]?master=NAME
// with go-redis's ParseFailoverURL, which takes the first sentinel as the
// URL's host, the others as ?addr=, the master's name as ?master_name= and
// the user and password of the URL as the sentinels' own: the URL's user and
// password are set as the master's after it.
func parseSentinel(u *url.URL) (*redis.FailoverOptions, error) {
	q := u.Query()
	for k := range q {
		if k != "master" {
			return nil, fmt.Errorf("unknown option %q; a sentinel URL takes only ?master=NAME", k)
		}
	}
	master := q.Get("master")
	if master == "" {
		return nil, errors.New("no master name; add ?master=NAME (as the sentinels know it)")
	}
	addrs, err := hostList(u.Host)
	if err != nil {
		return nil, err
	}
	if _, err := database(u.Path); err != nil {
		return nil, err
	}
	gq := url.Values{"master_name": {master}, "addr": addrs[1:]}
	fo, err := redis.ParseFailoverURL(goRedisURL(u, addrs[0], false, gq))
	if err != nil {
		return nil, err
	}
	fo.SentinelUsername, fo.SentinelPassword = "", ""
	fo.Username = u.User.Username()
	fo.Password, _ = u.User.Password()
	return fo, nil
}

// parseCluster reads redis[s]-cluster://[[user]:password@]host:port[,host:port…]
// with go-redis's ParseClusterURL, which takes the first node as the URL's
// host and the others as ?addr=.
func parseCluster(u *url.URL) (*redis.ClusterOptions, error) {
	if len(u.Query()) > 0 || u.ForceQuery {
		return nil, errors.New("a cluster URL takes no options")
	}
	addrs, err := hostList(u.Host)
	if err != nil {
		return nil, err
	}
	db, err := database(u.Path)
	if err != nil {
		return nil, err
	}
	if db != 0 {
		return nil, fmt.Errorf("database %d: Redis Cluster has database 0 only", db)
	}
	return redis.ParseClusterURL(goRedisURL(u, addrs[0], true, url.Values{"addr": addrs[1:]}))
}

// goRedisURL returns u in the form go-redis's URL parsers read: scheme redis
// or rediss, host first, path kept, query q; with userinfo only when
// keepUser.
func goRedisURL(u *url.URL, first string, keepUser bool, q url.Values) string {
	g := url.URL{Scheme: "redis", Host: first, Path: u.Path, RawQuery: q.Encode()}
	if isTLS(u.Scheme) {
		g.Scheme = "rediss"
	}
	if keepUser {
		g.User = u.User
	}
	return g.String()
}

// checkPort checks the port of a URL, "" when the URL gives none.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %s out of range [1, 65535]", port)
	}
	return nil
}

// hostList splits a comma-separated list of host:port.
func hostList(hosts string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(hosts, ",") {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("address %q is not host:port", a)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("address %q: port out of range", a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// database reads the database number of a URL path: "", "/" or "/<db>".
func database(path string) (int, error) {
	p := strings.TrimPrefix(path, "/")
	if p == "" {
		return 0, nil
	}
	db, err := strconv.Atoi(p)
	if err != nil || db < 0 {
		return 0, fmt.Errorf("invalid database number %q", p)
	}
	return db, nil
}
