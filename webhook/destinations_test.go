package webhook_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/storetest"
	"github.com/ragd/ragd/webhook"
)

func TestDestinationsCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allow   string
		addr    string
		refused string // part of the error; "" when allowed
	}{
		{"DefaultLoopback", "", "127.0.0.1", ""},
		{"DefaultPrivate", "", "10.1.2.3", ""},
		{"DefaultPublic", "", "93.184.216.34", ""},
		{"DefaultIPv6Loopback", "", "::1", ""},
		{"DefaultMetadata", "", "169.254.169.254", "link-local"},
		{"DefaultMetadataIPv4InIPv6", "", "::ffff:169.254.169.254", "link-local"},
		{"DefaultIPv6LinkLocal", "", "fe80::1", "link-local"},
		{"DefaultIPv6LinkLocalZoned", "", "fe80::1%eth0", "link-local"},
		{"DefaultAWSMetadataIPv6", "", "fd00:ec2::254", "AWS instance metadata"},
		{"DefaultUnspecified", "", "0.0.0.0", "unspecified"},
		{"AllowListed", "10.0.0.0/8, 192.168.1.7", "192.168.1.7", ""},
		{"AllowListRefusesOthers", "10.0.0.0/8,192.168.1.7", "127.0.0.1", "not in the allowed ranges 10.0.0.0/8, 192.168.1.7/32"},
		{"AllowListCanNameMetadata", "169.254.169.254/32", "169.254.169.254", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := webhook.ParseDestinations(tc.allow)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Check(netip.MustParseAddr(tc.addr))
			if (err == nil) != (tc.refused == "") || (err != nil && !strings.Contains(err.Error(), tc.refused)) {
				t.Errorf("Check(%s) = %v, want refused %q", tc.addr, err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "--webhook-allow") {
				t.Errorf("the error %q does not say how to allow it", err)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8;127.0.0.1"} {
		if _, err := webhook.ParseDestinations(bad); err == nil {
			t.Errorf("ParseDestinations(%q) accepted it", bad)
		}
	}
}

// A hostname is checked on the address it resolves to, when delivering,
// and the failure recorded in the delivery log shows no URL credentials.
func TestDeliveryToRefusedAddress(t *testing.T) {
	st := storetest.MustOpen(t)
	rcv := newReceiver(t, "whsec_0123456789abcdef")
	url := strings.Replace(rcv.URL, "127.0.0.1", "tok3n-user@localhost", 1)
	w := register(t, st, "acme", url, "whsec_0123456789abcdef", webhook.FileFailed)
	d := webhook.New(st, webhook.Options{Destinations: webhook.Destinations{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		MaxAttempts: 1, Logger: quiet})
	d.Start()
	defer d.Close(context.Background())
	if err := d.Publish(context.Background(), "acme", webhook.FileFailed, map[string]string{"id": "file_1"}); err != nil {
		t.Fatal(err)
	}
	if e := waitDelivery(t, st, w, ragd.DeliveryFailed).LastError; !strings.Contains(e, "is not in the allowed ranges 10.0.0.0/8") || strings.Contains(e, "tok3n") {
		t.Errorf("last error %q", e)
	}
	select {
	case ev := <-rcv.got:
		t.Errorf("the refused receiver got %+v", ev)
	default:
	}
}
