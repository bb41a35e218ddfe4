package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Destinations restricts the addresses deliveries may connect to. The
// check runs on each address a delivery actually dials, after DNS, so a
// hostname that resolves (or later re-resolves) to a refused address is
// refused too.
//
// By default every address is allowed except link-local ones, where cloud
// providers serve instance metadata and credentials (169.254.169.254,
// fe80::/10), the other known metadata addresses, and unspecified,
// multicast and broadcast ones. Loopback and private addresses are
// allowed: ragd is self-hosted, and a receiver on the same host or network
// is the common case. An operator who lets others register webhooks lists
// the allowed ranges instead.
type Destinations struct {
	// Allow, when not empty, lists the only ranges deliveries may reach;
	// it may name a range refused by default to allow it.
	Allow []netip.Prefix
}

// refusedByDefault are the ranges Destinations refuses unless Allow lists
// them.
var refusedByDefault = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, where clouds serve instance metadata"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "AWS instance metadata"},
	{netip.MustParsePrefix("100.100.100.200/32"), "Alibaba Cloud instance metadata"},
	{netip.MustParsePrefix("168.63.129.16/32"), "Azure's host endpoint"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
}

// ParseDestinations parses a comma-separated list of CIDR ranges and
// addresses (an address is its own /32 or /128) into an allow-list.
func ParseDestinations(list string) (Destinations, error) {
	var d Destinations
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return d, fmt.Errorf("%q is neither a CIDR range nor an IP address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		d.Allow = append(d.Allow, p.Masked())
	}
	return d, nil
}

// Check returns nil when deliveries may connect to addr, else an error
// saying why not and how to allow it.
func (d Destinations) Check(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("") // a prefix never contains a zoned address
	if len(d.Allow) > 0 {
		for _, p := range d.Allow {
			if p.Contains(addr) {
				return nil
			}
		}
		allowed := make([]string, len(d.Allow))
		for i, p := range d.Allow {
			allowed[i] = p.String()
		}
		return fmt.Errorf("webhook destination %s is not in the allowed ranges %s (--webhook-allow)", addr, strings.Join(allowed, ", "))
	}
	for _, r := range refusedByDefault {
		if r.prefix.Contains(addr) {
			return fmt.Errorf("webhook destination %s is refused (%s); list it in --webhook-allow to deliver there", addr, r.why)
		}
	}
	return nil
}

// control is a net.Dialer Control function that refuses the addresses
// Check refuses, just before each connection.
func (d Destinations) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook destination %q: %w", address, err)
	}
	return d.Check(ap.Addr())
}

// client returns the default delivery client: 10 s timeout, no redirects
// (a redirect could lead anywhere), no proxy (the destination check must
// see the receiver's own address), and every connection checked.
func (d Destinations) client() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: d.control}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RedactURL returns rawURL with any credentials it embeds (user:password@)
// replaced, for showing a webhook's URL in API answers and logs. Deliveries
// still use the credentials.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	u.User = url.User("xxxxx")
	return u.String()
}
