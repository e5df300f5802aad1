// Package egress is the network-policy helper that runs in a sandbox's holder container: it installs the
// iptables rules the library generated, answers DNS for allowed names only, proxies HTTP (Host) and TLS (SNI)
// to allowed names, and replaces the policy of a running sandbox on request.
//
// The holder owns the sandbox's network namespace and has CAP_NET_ADMIN; the sandbox joins the namespace
// without it. The proxy and the forwarder reach upstream from sockets carrying Config.Mark, which only a
// process with CAP_NET_ADMIN can set and which the rules accept; everything the sandbox sends goes through
// the rules, the forwarder or the proxy.
package egress

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
)

// Config is what the library hands the holder, as JSON: the rules to install and the policy to enforce.
type Config struct {
	// RulesV4 and RulesV6 are iptables-restore input, applied with --noflush (the text flushes its own
	// chains by declaring them). RulesV6 may be empty when the namespace has no IPv6.
	RulesV4 string `json:"rules_v4"`
	RulesV6 string `json:"rules_v6"`
	// Open means egress is not restricted beyond Fence: DNS answers every name and nothing is proxied.
	Open bool `json:"open"`
	// CIDRs are networks the sandbox may reach directly, whatever Open and Fence say.
	CIDRs []string `json:"cidrs"`
	// Fence lists networks refused in Open mode, and to the proxy's upstream connections, unless CIDRs allows
	// them (host and neighbour addresses). Empty when the sandbox is not isolated.
	Fence []string `json:"fence"`
	// Domains are the name patterns reachable through the proxy: "name", "*.name" (strict subdomains), "*".
	Domains []string `json:"domains"`
	// Mark is the SO_MARK of the helper's upstream sockets; the rules accept packets carrying it.
	Mark uint32 `json:"mark"`
	// DNSPort, HTTPPort and TLSPort are the loopback ports the rules redirect to.
	DNSPort  int `json:"dns_port"`
	HTTPPort int `json:"http_port"`
	TLSPort  int `json:"tls_port"`
	// Upstream DNS servers ("ip" or "ip:port"); empty means the nameservers of /etc/resolv.conf at start.
	Upstream []string `json:"dns_upstream"`
}

// ParseConfig decodes and validates a Config.
func ParseConfig(raw []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bad config: %v", err)
	}
	if _, err := c.Policy(); err != nil {
		return nil, err
	}
	for _, p := range []int{c.DNSPort, c.HTTPPort, c.TLSPort} {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("bad config: port %d out of range", p)
		}
	}
	if c.Mark == 0 {
		return nil, fmt.Errorf("bad config: mark must be non-zero")
	}
	for _, u := range c.Upstream {
		if _, err := upstreamAddr(u); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// Policy is the compiled form of a Config's policy part.
type Policy struct {
	Open    bool
	CIDRs   []*net.IPNet
	Fence   []*net.IPNet
	Domains *Matcher
}

// Policy compiles the config's CIDRs, fence and domain patterns.
func (c *Config) Policy() (*Policy, error) {
	cidrs, err := parseNets(c.CIDRs)
	if err != nil {
		return nil, err
	}
	fence, err := parseNets(c.Fence)
	if err != nil {
		return nil, err
	}
	m, err := NewMatcher(c.Domains)
	if err != nil {
		return nil, err
	}
	return &Policy{Open: c.Open, CIDRs: cidrs, Fence: fence, Domains: m}, nil
}

// Redirects reports whether the rules send the sandbox's TCP 80/443 to the proxy (an allowlist with domains).
func (p *Policy) Redirects() bool {
	return !p.Open && !p.Domains.Empty()
}

// NameAllowed reports whether DNS answers name and the proxy may connect to it.
func (p *Policy) NameAllowed(name string) bool {
	return p.Open || p.Domains.Match(name)
}

// UpstreamAllowed reports whether the proxy may connect to ip for an allowed name: not into the fence (the host,
// private and link-local ranges) unless a CIDR allows it, so that a name resolving there (a rebinding name
// under "*", say) cannot carry the sandbox past isolation.
func (p *Policy) UpstreamAllowed(ip net.IP) bool {
	return containsIP(p.CIDRs, ip) || !containsIP(p.Fence, ip)
}

// DirectAllowed reports whether the rules let the sandbox reach ip directly.
func (p *Policy) DirectAllowed(ip net.IP) bool {
	if containsIP(p.CIDRs, ip) {
		return true
	}
	return p.Open && !containsIP(p.Fence, ip)
}

func parseNets(list []string) ([]*net.IPNet, error) {
	out := make([]*net.IPNet, 0, len(list))
	for _, s := range list {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("bad config: CIDR %q: %v", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func containsIP(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Matcher matches host names against allowlist patterns.
type Matcher struct {
	all      bool
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

// NewMatcher compiles patterns: "example.com" (that name), "*.example.com" (its strict subdomains), "*" (all).
func NewMatcher(patterns []string) (*Matcher, error) {
	m := &Matcher{exact: map[string]bool{}}
	for _, p := range patterns {
		p = normalizeName(p)
		switch {
		case p == "*":
			m.all = true
		case strings.HasPrefix(p, "*."):
			if !validName(p[2:]) {
				return nil, fmt.Errorf("bad config: domain pattern %q", p)
			}
			m.suffixes = append(m.suffixes, p[1:])
		default:
			if !validName(p) {
				return nil, fmt.Errorf("bad config: domain pattern %q", p)
			}
			m.exact[p] = true
		}
	}
	return m, nil
}

// Empty reports whether the matcher matches nothing.
func (m *Matcher) Empty() bool {
	return !m.all && len(m.exact) == 0 && len(m.suffixes) == 0
}

// Match reports whether name (any case, optional trailing dot) is allowed.
func (m *Matcher) Match(name string) bool {
	name = normalizeName(name)
	if !validName(name) {
		return m.all && net.ParseIP(name) != nil
	}
	if m.all || m.exact[name] {
		return true
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

func normalizeName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// validName accepts LDH host names (underscores allowed, as DNS does): 1-63 byte labels, at most 253 bytes, a
// last label that is not all digits (so that no IPv4 literal is a name).
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// upstreamAddr turns "ip" or "ip:port" (or "[v6]:port") into a dialable address, port 53 by default.
func upstreamAddr(s string) (string, error) {
	if ip := net.ParseIP(s); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(host) == nil || port == "" {
		return "", fmt.Errorf("bad config: DNS upstream %q is not ip or ip:port", s)
	}
	return net.JoinHostPort(host, port), nil
}
