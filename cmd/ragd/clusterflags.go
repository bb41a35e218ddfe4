package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"github.com/ragd/ragd/cluster"
	"github.com/ragd/ragd/store"
)

// clusterSettings are the serve flags that make the node part of a
// cluster: an embedded NATS server with routes to its peers, or an
// existing NATS cluster. None set: a single node, no NATS at all.
type clusterSettings struct {
	listen        string
	peers         string
	natsListen    string
	natsURL       string
	nodeName      string
	replicas      int
	snapshotEvery uint64
	tls           cluster.TLSFiles
}

// registerClusterFlags adds the cluster flags of ragd serve to fs.
func (s *clusterSettings) registerClusterFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.listen, "cluster-listen", envOr("RAGD_CLUSTER_LISTEN", ""),
		"HOST:PORT of this node's cluster port: starts an embedded NATS server with JetStream that forms a cluster with --cluster-peers; "+
			"beyond loopback, every node needs the same RAGD_CLUSTER_SECRET in its environment (env RAGD_CLUSTER_LISTEN)")
	fs.StringVar(&s.peers, "cluster-peers", envOr("RAGD_CLUSTER_PEERS", ""),
		"the other nodes' --cluster-listen addresses, comma-separated (env RAGD_CLUSTER_PEERS)")
	fs.StringVar(&s.natsListen, "nats-listen", envOr("RAGD_NATS_LISTEN", ""),
		"HOST:PORT of the embedded NATS server's client port, for the nats CLI and monitoring (env RAGD_NATS_LISTEN; default 127.0.0.1 on a free port, with a password only this process knows)")
	fs.StringVar(&s.natsURL, "nats-url", envOr("RAGD_NATS_URL", ""),
		"client URLs of an existing NATS cluster with JetStream, comma-separated, instead of an embedded server; credentials from RAGD_NATS_CREDS (a .creds file), "+
			"RAGD_NATS_TOKEN or RAGD_NATS_USER and RAGD_NATS_PASSWORD (env RAGD_NATS_URL)")
	fs.StringVar(&s.nodeName, "node-name", envOr("RAGD_NODE_NAME", ""), "this node's name in the cluster, unique per node (env RAGD_NODE_NAME; default: the host name)")
	fs.Uint64Var(&s.snapshotEvery, "cluster-snapshot-every", uint64(envInt("RAGD_CLUSTER_SNAPSHOT_EVERY", 10_000)),
		"ops a node applies between snapshots of its store; the cluster keeps the last 2 and trims its log below the older (env RAGD_CLUSTER_SNAPSHOT_EVERY)")
	fs.StringVar(&s.tls.Cert, "cluster-tls-cert", envOr("RAGD_CLUSTER_TLS_CERT", ""),
		"PEM certificate this node presents on the cluster port, as server and as client; with --cluster-tls-key and --cluster-tls-ca, routes are mutual TLS (env RAGD_CLUSTER_TLS_CERT)")
	fs.StringVar(&s.tls.Key, "cluster-tls-key", envOr("RAGD_CLUSTER_TLS_KEY", ""), "PEM private key of --cluster-tls-cert (env RAGD_CLUSTER_TLS_KEY)")
	fs.StringVar(&s.tls.CA, "cluster-tls-ca", envOr("RAGD_CLUSTER_TLS_CA", ""),
		"PEM certificate authority that signed every node's --cluster-tls-cert; a peer without such a certificate is refused (env RAGD_CLUSTER_TLS_CA)")
	fs.IntVar(&s.replicas, "cluster-replicas", envInt("RAGD_CLUSTER_REPLICAS", 0),
		"copies JetStream keeps of the replicated log (default 3, or the number of embedded nodes when fewer) (env RAGD_CLUSTER_REPLICAS)")
}

// enabled reports whether the node is part of a cluster.
func (s *clusterSettings) enabled() bool { return s.listen != "" || s.natsURL != "" }

// check refuses contradictory settings.
func (s *clusterSettings) check() error {
	switch {
	case s.listen != "" && s.natsURL != "":
		return errors.New("--cluster-listen (embedded NATS) and --nats-url (an existing NATS cluster) exclude each other")
	case s.peers != "" && s.listen == "":
		return errors.New("--cluster-peers needs --cluster-listen")
	case s.tls != cluster.TLSFiles{} && (s.listen == "" || s.peers == ""):
		return errors.New("--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca need --cluster-listen and --cluster-peers (a one-node cluster has no route port)")
	case s.tls != cluster.TLSFiles{} && (s.tls.Cert == "" || s.tls.Key == "" || s.tls.CA == ""):
		return errors.New("--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca go together: set all three")
	case s.snapshotEvery == 0:
		return errors.New("--cluster-snapshot-every must be positive")
	case s.replicas < 0:
		return fmt.Errorf("--cluster-replicas must be positive, got %d", s.replicas)
	}
	return nil
}

// open starts the cluster node of data directory dataDir: its embedded
// server's data there, its store opened with opts.
func (s *clusterSettings) open(ctx context.Context, dataDir string, log *slog.Logger, opts ...store.Option) (*cluster.Node, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	name := s.nodeName
	if name == "" {
		var err error
		if name, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("--node-name: %w", err)
		}
	}
	cfg := cluster.Config{NodeName: name, Listen: s.listen, Peers: splitList(s.peers), NATSListen: s.natsListen,
		URLs: splitList(s.natsURL), Replicas: s.replicas, Logger: log, Dir: filepath.Join(dataDir, "nats"),
		DBPath: filepath.Join(dataDir, store.FileName), StoreOptions: opts, SnapshotEvery: s.snapshotEvery,
		Secret: os.Getenv("RAGD_CLUSTER_SECRET"), TLS: s.tls}
	switch {
	case s.natsURL == "": // an embedded server: the cluster secret, if any
	case os.Getenv("RAGD_NATS_CREDS") != "":
		cfg.Options = append(cfg.Options, nats.UserCredentials(os.Getenv("RAGD_NATS_CREDS")))
	case os.Getenv("RAGD_NATS_TOKEN") != "":
		cfg.Options = append(cfg.Options, nats.Token(os.Getenv("RAGD_NATS_TOKEN")))
	case os.Getenv("RAGD_NATS_USER") != "":
		cfg.Options = append(cfg.Options, nats.UserInfo(os.Getenv("RAGD_NATS_USER"), os.Getenv("RAGD_NATS_PASSWORD")))
	}
	return cluster.Open(ctx, cfg)
}
