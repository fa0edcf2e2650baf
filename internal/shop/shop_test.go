package shop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

func open(t *testing.T, o Options) (*Shop, *httptest.Server) {
	t.Helper()
	o.DB = testenv.Postgres(t)
	o.Redis = "redis://" + testenv.RedisAddr(t) + "/0"
	o.Sale = fmt.Sprintf("t%d", time.Now().UnixNano())
	o.Stock = map[string]int64{"x-1": 2}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

func post(t *testing.T, c *http.Client, url string) (int, map[string]string) {
	t.Helper()
	resp, err := c.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestShop: reserve, confirm, the limit (403), sold out (409), an unknown code (404), and the
// orders table as the audit reads it.
func TestShop(t *testing.T) {
	s, srv := open(t, Options{})
	c := srv.Client()
	st, m := post(t, c, srv.URL+"/checkout?user_id=7&id=x-1")
	if st != 200 || m["code"] == "" {
		t.Fatalf("checkout: %d %v", st, m)
	}
	if st, _ := post(t, c, srv.URL+"/checkout?user_id=7&id=x-1"); st != 403 {
		t.Errorf("second unit for one user: %d, want 403", st)
	}
	if st, _ := post(t, c, srv.URL+"/purchase?code="+m["code"]); st != 200 {
		t.Errorf("confirm: %d", st)
	}
	if st, _ := post(t, c, srv.URL+"/purchase?code="+m["code"]); st != 404 {
		t.Errorf("confirm twice: %d, want 404", st)
	}
	post(t, c, srv.URL+"/checkout?user_id=8&id=x-1")
	if st, _ := post(t, c, srv.URL+"/checkout?user_id=9&id=x-1"); st != 409 {
		t.Errorf("sold out: %d, want 409", st)
	}
	rows, err := s.db.Query("SELECT user_id, status FROM purchases WHERE sale_id = $1 ORDER BY user_id", s.o.Sale)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var u int64
		var status string
		rows.Scan(&u, &status)
		got = append(got, fmt.Sprintf("%d %s", u, status))
	}
	if fmt.Sprint(got) != "[7 paid 8 reserved]" {
		t.Errorf("orders %v", got)
	}
}

// TestShopFaults: --break-limit sells a user a second unit; --drop-every acknowledges without
// storing; --login refuses a checkout without the session cookie.
func TestShopFaults(t *testing.T) {
	s, srv := open(t, Options{BreakLimit: true, DropEvery: 2})
	c := srv.Client()
	var codes []string
	for range 2 {
		st, m := post(t, c, srv.URL+"/checkout?user_id=7&id=x-1")
		if st != 200 || len(m["code"]) != 24 || slices.Contains(codes, m["code"]) {
			t.Fatalf("checkout past the limit: %d %v (codes so far %v)", st, m, codes)
		}
		codes = append(codes, m["code"])
	}
	var n int
	s.db.QueryRow("SELECT count(*) FROM purchases WHERE sale_id = $1", s.o.Sale).Scan(&n)
	if n != 1 {
		t.Errorf("%d orders stored of 2 acknowledged, want 1 (every 2nd dropped)", n)
	}

	_, srv = open(t, Options{Login: true})
	jar, _ := cookiejar.New(nil)
	c = &http.Client{Jar: jar}
	if st, _ := post(t, c, srv.URL+"/checkout?user_id=7&id=x-1"); st != 401 {
		t.Errorf("checkout without a session: %d, want 401", st)
	}
	post(t, c, srv.URL+"/login?user_id=7")
	if st, _ := post(t, c, srv.URL+"/checkout?user_id=7&id=x-1"); st != 200 {
		t.Errorf("checkout with a session: %d", st)
	}
	if st, _ := post(t, c, srv.URL+"/checkout?user_id=8&id=x-1"); st != 401 {
		t.Errorf("checkout with another user's session: %d, want 401", st)
	}
}
