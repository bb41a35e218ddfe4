package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/webhook"
)

// opsSettings are the serve flags of operations: limits, logs, CORS, TLS.
type opsSettings struct {
	tier         string
	rpm, tpm     int
	logRetention time.Duration
	logBodies    bool
	flush        time.Duration
	corsOrigins  string
	tlsCert      string
	tlsKey       string
	webhookAllow string
	metricsAuth  bool
}

// registerOpsFlags adds the operations flags of ragd serve to fs.
func (o *opsSettings) registerOpsFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.tier, "rate-limit-tier", envOr("RAGD_RATE_LIMIT_TIER", server.DefaultTier), "default rate limit of keys without their own: free (10 RPM, 100k TPM), pro (100, 1M), team (500, 10M) or unlimited (env RAGD_RATE_LIMIT_TIER)")
	fs.IntVar(&o.rpm, "default-rpm", 0, "override the default tier's requests per minute (0: keep)")
	fs.IntVar(&o.tpm, "default-tpm", 0, "override the default tier's tokens per minute (0: keep)")
	fs.DurationVar(&o.logRetention, "request-log-retention", server.DefaultLogRetention, "how long request logs are kept")
	fs.BoolVar(&o.logBodies, "log-request-bodies", false, "keep request bodies (secrets redacted) in request logs")
	fs.DurationVar(&o.flush, "usage-flush-interval", 2*time.Second, "how often usage and request logs are written to the database")
	fs.StringVar(&o.corsOrigins, "cors-origins", envOr("RAGD_CORS_ORIGINS", ""), "comma-separated origins allowed to call the API from a browser; empty: CORS off (env RAGD_CORS_ORIGINS)")
	fs.StringVar(&o.tlsCert, "tls-cert", envOr("RAGD_TLS_CERT", ""), "TLS certificate file (PEM); with --tls-key, serve HTTPS (env RAGD_TLS_CERT)")
	fs.StringVar(&o.webhookAllow, "webhook-allow", envOr("RAGD_WEBHOOK_ALLOW", ""), "comma-separated CIDR ranges or IPs webhooks may deliver to; empty: any address but link-local and cloud metadata ones (env RAGD_WEBHOOK_ALLOW)")
	fs.BoolVar(&o.metricsAuth, "metrics-auth", false, "require an admin API key on GET /metrics (default: open to whoever reaches the port)")
	fs.StringVar(&o.tlsKey, "tls-key", envOr("RAGD_TLS_KEY", ""), "TLS private key file (PEM) (env RAGD_TLS_KEY)")
}

// config returns the server's operations settings.
func (o *opsSettings) config() (server.OpsConfig, error) {
	tier, err := server.TierByName(o.tier)
	if err != nil {
		return server.OpsConfig{}, fmt.Errorf("--rate-limit-tier: %w", err)
	}
	if o.rpm > 0 {
		tier.RPM = o.rpm
	}
	if o.tpm > 0 {
		tier.TPM = o.tpm
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return server.OpsConfig{}, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	dest, err := webhook.ParseDestinations(o.webhookAllow)
	if err != nil {
		return server.OpsConfig{}, fmt.Errorf("--webhook-allow: %w", err)
	}
	cfg := server.OpsConfig{DefaultTier: &tier, LogRetention: o.logRetention, LogBodies: o.logBodies, FlushInterval: o.flush,
		TLSCertFile: o.tlsCert, TLSKeyFile: o.tlsKey, Webhooks: webhook.Options{Destinations: dest}, MetricsAuth: o.metricsAuth}
	for _, origin := range strings.Split(o.corsOrigins, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, origin)
		}
	}
	return cfg, nil
}

// runCheck runs SQLite's integrity check on a data directory's database.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("RAGD_DATA_DIR", "./data"), "data directory (env RAGD_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(*dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.IntegrityCheck(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "integrity_check: ok")
	return nil
}
