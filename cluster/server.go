package cluster

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// maxPayload is the embedded server's message size limit: ops up to it
// travel inline, larger ones through the op-data object store.
const maxPayload = 8 << 20

// startServer starts the embedded NATS server of cfg: JetStream on, its
// data under cfg.Dir, a route port on cfg.Listen to the cfg.Peers. It
// returns the server and the password of its client port (user
// SecretUser), empty for none.
func startServer(cfg Config, log *slog.Logger) (*server.Server, string, error) {
	host, port, err := splitHostPort(cfg.NATSListen, "127.0.0.1", -1)
	if err != nil {
		return nil, "", fmt.Errorf("cluster: --nats-listen: %w", err)
	}
	if err := needSecret(cfg, "--nats-listen", host); err != nil {
		return nil, "", err
	}
	opts := &server.Options{ServerName: cfg.NodeName, Host: host, Port: port, JetStream: true, StoreDir: cfg.Dir,
		MaxPayload: maxPayload, NoSigs: true}
	// The client port takes the cluster secret. Without one and without
	// --nats-listen, nobody but this process needs it (ragd talks to its
	// server in process; the server has no mode without a client port
	// that still reports ready): a password of its own keeps the loopback
	// port from any other local user.
	password := cfg.Secret
	if password == "" && cfg.NATSListen == "" {
		password = rand.Text()
	}
	if password != "" {
		opts.Username, opts.Password = SecretUser, password
	}
	// A node with no peers is a one-node cluster: JetStream on its own,
	// no route port (a JetStream cluster of one refuses to start).
	if cfg.Listen != "" && len(cfg.Peers) > 0 {
		h, p, err := splitHostPort(cfg.Listen, "", 0)
		if err != nil {
			return nil, "", fmt.Errorf("cluster: --cluster-listen: %w", err)
		}
		if err := needSecret(cfg, "--cluster-listen", h); err != nil {
			return nil, "", err
		}
		opts.Cluster = server.ClusterOpts{Name: "ragd", Host: h, Port: p}
		if cfg.TLS != (TLSFiles{}) {
			tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, CaFile: cfg.TLS.CA, Verify: true})
			if err != nil {
				return nil, "", fmt.Errorf("cluster: --cluster-tls-*: %w", err)
			}
			// The CA verifies peers that dial in (ClientCAs) and the peers
			// this node dials (RootCAs), as nats-server's config parser sets.
			tc.RootCAs = tc.ClientCAs
			opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = tc, routeTLSTimeout.Seconds()
		}
		route := url.URL{Scheme: "nats"}
		if cfg.Secret != "" {
			opts.Cluster.Username, opts.Cluster.Password = SecretUser, cfg.Secret
			route.User = url.UserPassword(SecretUser, cfg.Secret)
		}
		for _, peer := range cfg.Peers {
			route.Host = peer
			u := route
			opts.Routes = append(opts.Routes, &u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, "", fmt.Errorf("cluster: embedded NATS server: %w", err)
	}
	logger := &natsLogger{log: log.With("component", "nats")}
	srv.SetLoggerV2(logger, false, false, false)
	srv.Start()
	// Ready, or a fatal error logged (a port taken), or 30 s passed.
	for deadline := time.Now().Add(30 * time.Second); !srv.ReadyForConnections(100 * time.Millisecond); {
		why := logger.fatal.Load()
		if why == nil && time.Now().Before(deadline) {
			continue
		}
		srv.Shutdown()
		if why != nil {
			return nil, "", fmt.Errorf("cluster: the embedded NATS server did not start: %s", *why)
		}
		return nil, "", fmt.Errorf("cluster: the embedded NATS server did not start within 30s")
	}
	return srv, password, nil
}

// TLSFiles are the PEM files of a node's route TLS: its certificate and
// key (presented as server and as client) and the authority that signed
// every node's certificate.
type TLSFiles struct{ Cert, Key, CA string }

// routeTLSTimeout bounds a route's TLS handshake.
const routeTLSTimeout = 5 * time.Second

// SecretUser is the user name that goes with Config.Secret, on the route
// port and the client port.
const SecretUser = "ragd"

// needSecret refuses a port of the embedded server (flag names it) on a
// host other than a loopback address unless the cluster has a secret.
func needSecret(cfg Config, flag, host string) error {
	if cfg.Secret != "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("cluster: %s listens beyond this machine (%q): set RAGD_CLUSTER_SECRET, the same on every node, so that only ragd nodes join and read the cluster's log", flag, host)
}

// splitHostPort splits addr ("host:port", ":port" or empty) with the
// given defaults.
func splitHostPort(addr, defHost string, defPort int) (string, int, error) {
	if addr == "" {
		return defHost, defPort, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	if h == "" {
		h = defHost
	}
	return h, port, nil
}

// natsLogger routes the embedded server's log to slog one level down:
// the server is chatty, and what it calls warnings and errors are mostly
// the normal life of a cluster (a peer down and its route refused, a
// stream rebuilt after a kill, a leader elected). What ragd itself cannot
// do (apply an op, reach a quorum) it logs at its own level.
type natsLogger struct {
	log *slog.Logger
	// fatal is the server's first fatal error (a port it cannot listen
	// on): the reason it never becomes ready, for the error that says so.
	fatal atomic.Pointer[string]
}

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Info(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any)  {}

func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.fatal.CompareAndSwap(nil, &msg)
	l.log.Error(msg)
}
