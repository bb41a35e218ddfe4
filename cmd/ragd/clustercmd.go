package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ragd/ragd/cluster"
)

// runCluster runs "ragd cluster status": the cluster as one node sees it,
// read from that node's GET /v1/health.
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return fmt.Errorf("usage: ragd cluster status [--url URL]")
	}
	fs := flag.NewFlagSet("ragd cluster status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", envOr("RAGD_URL", "http://127.0.0.1:8080"), "a node's URL (env RAGD_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	key := envOr("RAGD_API_KEY", os.Getenv("RAGD_ADMIN_KEY"))
	if key == "" {
		return fmt.Errorf("an API key is required: set RAGD_API_KEY (or RAGD_ADMIN_KEY)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(*url, "/")+"/v1/health", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET /v1/health: %s: %s", resp.Status, b)
	}
	var h struct {
		Cluster *struct {
			cluster.Status
			State string `json:"status"`
			Error string `json:"error"`
		} `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return err
	}
	c := h.Cluster
	if c == nil {
		return fmt.Errorf("%s is a single node, not part of a cluster", *url)
	}
	fmt.Fprintf(stdout, "node %s (%s NATS, %d replicas): cluster %s; log %d..%d", c.Node, c.Mode, c.Replicas, c.State, c.First, c.Last)
	if c.Leader != "" {
		fmt.Fprintf(stdout, ", stream leader %s", c.Leader)
	}
	fmt.Fprintln(stdout)
	if c.Error != "" {
		fmt.Fprintln(stdout, "error:", c.Error)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tAPPLIED\tLAG\tLAST REPORT")
	for _, n := range c.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\n", n.Name, n.Applied, n.Lag, time.Since(time.Unix(n.Reported, 0)).Round(time.Second))
	}
	return tw.Flush()
}
