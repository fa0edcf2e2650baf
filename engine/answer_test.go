package engine

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/outcome"
	"github.com/valyala/fasthttp"
)

func TestAnswerCode(t *testing.T) {
	for body, want := range map[string]string{
		`{"code":"SOLD_OUT","error":"sold out"}`:    codes.SoldOut,
		`Service Unavailable`:                       "",
		`{"code":"SOMETHING_NEW"}`:                  CodeOther,
		` {"code":"SHED"}`:                          codes.Shed,
		`{"order_id":"o1","code":"RESERVED"}`:       codes.Reserved,
		``:                                          "",
		`{"error":"x","code":"RATE_LIMITED"} trail`: codes.RateLimited,
	} {
		if got := answerCode([]byte(body)); got != want {
			t.Errorf("answerCode(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestClassifyErr(t *testing.T) {
	tests := []struct {
		err  error
		want outcome.ErrorClass
	}{
		{nil, outcome.ErrNone},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), outcome.ErrRefused},
		{fasthttp.ErrTimeout, outcome.ErrTimeout},
		{fasthttp.ErrDialTimeout, outcome.ErrTimeout},
		{fasthttp.ErrNoFreeConns, outcome.ErrTimeout},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), outcome.ErrReset},
		{io.EOF, outcome.ErrReset},
		{fasthttp.ErrConnectionClosed, outcome.ErrReset},
		{errors.New("error when reading response headers: cannot find whitespace"), outcome.ErrBadAnswer},
		{errors.New("something else"), outcome.ErrOther},
	}
	for _, tt := range tests {
		if got := classifyErr(tt.err); got != tt.want {
			t.Errorf("classifyErr(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:1": true, "http://[::1]:80/x": true,
		"http://10.0.0.1": false, "https://example.com": false, "::": false,
	} {
		if got := IsLoopback(u); got != want {
			t.Errorf("IsLoopback(%q) = %v", u, got)
		}
	}
}

// FuzzAnswer feeds arbitrary bodies and Retry-After headers to what parses answers: it must not
// panic, codes stay within the known set, and delays stay within bounds.
func FuzzAnswer(f *testing.F) {
	f.Add(`{"code":"RESERVED","order_id":"o-1"}`, "1")
	f.Add(`{"error":"a \"code\": b","code":"SHED"}`, "0.25")
	f.Add(`{"code":`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(`Service Unavailable`, "")
	f.Fuzz(func(t *testing.T, body, _ string) {
		c := answerCode([]byte(body))
		if c != "" && internCode([]byte(c)) != c {
			t.Fatalf("code %q not interned", c)
		}
	})
}
