// Package cors decides which browser origins may call the API (gRPC-Web)
// and answers the CORS side of their requests.
//
// Browsers send a preflight (OPTIONS) before every gRPC-Web call, because its
// content type is not a "simple" one; only an allowed origin gets the
// Access-Control-* headers that let the page read the answer.
package cors

import (
	"fmt"
	"net/url"
	"strings"
)

// Loopback is the entry that allows http(s)://localhost, 127.0.0.1 and
// [::1] on any port: the default, so a fresh install serves local pages
// only.
const Loopback = "loopback"

// Policy is a set of allowed origins. The zero Policy allows nothing.
type Policy struct {
	any      bool
	loopback bool
	exact    map[string]bool
	// wildcards are "scheme://*.domain[:port]" entries: any subdomain.
	wildcards []wildcard
}

type wildcard struct{ scheme, suffix, port string }

// Parse reads the entries of OOF_CORS_ALLOWED_ORIGINS: "*" (any origin),
// "loopback", an exact origin "https://play.oof.gg[:port]", or a subdomain
// pattern "https://*.oof.gg[:port]". Anything else is an error, so a typo
// fails at start rather than silently blocking a site.
func Parse(entries []string) (*Policy, error) {
	p := &Policy{exact: map[string]bool{}}
	for _, raw := range entries {
		e := strings.ToLower(strings.TrimSpace(raw))
		switch e {
		case "":
			continue
		case "*":
			p.any = true
			continue
		case Loopback:
			p.loopback = true
			continue
		}
		scheme, host, port, err := splitOrigin(strings.Replace(e, "://*.", "://wildcard.", 1))
		if err != nil {
			return nil, fmt.Errorf("CORS origin %q: %v (want *, loopback, scheme://host[:port] or scheme://*.domain[:port])", raw, err)
		}
		if strings.Contains(e, "://*.") {
			suffix := strings.TrimPrefix(host, "wildcard")
			if !strings.Contains(suffix[1:], ".") || strings.HasSuffix(suffix, ".") {
				return nil, fmt.Errorf("CORS origin %q: a subdomain pattern needs a domain with a dot, like https://*.oof.gg", raw)
			}
			p.wildcards = append(p.wildcards, wildcard{scheme: scheme, suffix: suffix, port: port})
			continue
		}
		p.exact[join(scheme, host, port)] = true
	}
	return p, nil
}

// MustParse is Parse for entries known to be valid (config already checked).
func MustParse(entries []string) *Policy {
	p, err := Parse(entries)
	if err != nil {
		panic(err)
	}
	return p
}

// Allowed reports whether a page served from origin may call the API.
func (p *Policy) Allowed(origin string) bool {
	if p == nil || origin == "" {
		return false
	}
	if p.any {
		return true
	}
	scheme, host, port, err := splitOrigin(strings.ToLower(origin))
	if err != nil {
		// "null" (sandboxed frames, file://) and junk are never allowed.
		return false
	}
	if p.loopback && (host == "localhost" || host == "127.0.0.1" || host == "[::1]") {
		return true
	}
	if p.exact[join(scheme, host, port)] {
		return true
	}
	for _, w := range p.wildcards {
		if w.scheme == scheme && w.port == port && strings.HasSuffix(host, w.suffix) && len(host) > len(w.suffix) {
			return true
		}
	}
	return false
}

// splitOrigin checks that s is a bare http(s) origin (no path, query, user
// or fragment) and returns its parts; the default port is dropped so
// "https://a:443" and "https://a" are the same origin.
func splitOrigin(s string) (scheme, host, port string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", "", fmt.Errorf("scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", "", fmt.Errorf("not a bare origin")
	}
	host, port = u.Hostname(), u.Port()
	if host == "" {
		return "", "", "", fmt.Errorf("no host")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	return u.Scheme, host, port, nil
}

func join(scheme, host, port string) string {
	if port == "" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}
