package web

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzGuard: whatever the method, path, host and token a request carries, the handler answers
// without panicking, a server with a token answers 2xx only to its exact token, and one without
// answers 2xx only to a loopback host name.
func FuzzGuard(f *testing.F) {
	f.Add("GET", "/", "127.0.0.1:80", "tok")
	f.Add("GET", "/summary.json", "evil.example", "")
	f.Add("POST", "/stop", "[::1]:1", "tok\x00")
	f.Add("GET", "/report.html?client=x", "localhost", "TOK")
	f.Add("HEAD", "/%2e%2e/", "127.0.0.1.nip.io", " tok")
	withTok, open := listen(f, Options{Token: "tok"}), listen(f, Options{})
	f.Fuzz(func(t *testing.T, method, path, host, token string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t") {
			return
		}
		u, err := url.ParseRequestURI(path)
		if err != nil || u.Path == "/events" { // a stream only ends with its client
			return
		}
		for _, s := range []*Server{withTok, open} {
			r := httptest.NewRequest(method, path, nil)
			r.Host = host
			if token != "" {
				r.Header.Set(TokenHeader, token)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			if w.Code >= 300 {
				continue
			}
			ok := r.URL.Query().Get("token") == "tok" || (r.URL.Query().Get("token") == "" && token == "tok")
			if s == withTok && !ok {
				t.Fatalf("%s %s with token %q: %d", method, path, token, w.Code)
			}
			h, _, err := net.SplitHostPort(host)
			if s == open && !IsLoopbackHost(host) && (err != nil || !IsLoopbackHost(h)) {
				t.Fatalf("%s %s for host %q: %d", method, path, host, w.Code)
			}
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
