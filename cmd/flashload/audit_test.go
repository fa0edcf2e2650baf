package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/internal/shop"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
)

// shopScenario drives internal/shop behind its login: each journey logs in (the SESSION cookie
// comes back from the journey's jar), checks out (the purchase; its code is captured from the
// answer) and confirms with the code, which pays the purchase (settles). The audit reads the
// shop's own PostgreSQL table (no idempotency keys) and its Redis stock.
const shopScenario = `name: shop
vars: {sale: "env:FLTEST_SHOP_SALE", item: x-1}
skus: [{sku: x-1, stock: 30, price: 1, limit_per_user: 1}]
users: USERS
traffic: {arrivals: uniform, start_rps: 120, stages: [{duration: 1s, rps: 120}]}
journeys:
  - name: buyer
    steps:
      - request: {name: login, method: POST, url: "/login?user_id={{user}}"}
      - request:
          name: checkout
          method: POST
          url: /checkout?user_id={{user}}&id={{vars.item}}
          sku: x-1
          purchase: true
          classify:
            - {status: 200, outcome: acknowledged}
            - {status: 409, outcome: sold_out, code: SOLD_OUT}
            - {status: 403, outcome: limited, code: LIMIT}
          capture: [{json: "$.code", as: code}]
      - request:
          name: confirm
          method: POST
          url: /purchase?code={{code}}
          settles: checkout
          classify: [{status: 200, outcome: acknowledged}, {status: 404, outcome: refused}]
audit:
  settle: 100ms
  orders:
    postgres: {url: "env:FLTEST_SHOP_PG", query: "SELECT user_id AS user, item AS sku, qty, status FROM purchases WHERE sale_id = '{{vars.sale}}'"}
  stock:
    redis: {url: "env:FLTEST_SHOP_REDIS", key: "shop:{{vars.sale}}:{{sku}}:stock"}
gates: ["oversold == 0", "lost == 0", "duplicates == 0", "unexpected == 0", "error_rate < 1%"]
`

// startShop serves internal/shop on a loopback port with its orders in a fresh PostgreSQL
// database and its stock in the test Redis, under a sale id of its own; it sets the scenario's
// environment variables and returns the shop's URL.
func startShop(t *testing.T, o shop.Options) string {
	t.Helper()
	pg := o.DB
	if pg == "" {
		pg = testenv.Postgres(t)
	}
	rd := "redis://" + testenv.RedisAddr(t) + "/0"
	o.DB, o.Redis = pg, rd
	o.Sale = fmt.Sprintf("t%d", time.Now().UnixNano())
	o.Stock = map[string]int64{"x-1": 30}
	o.Login = true
	s, err := shop.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("FLTEST_SHOP_SALE", o.Sale)
	t.Setenv("FLTEST_SHOP_PG", pg)
	t.Setenv("FLTEST_SHOP_REDIS", rd)
	return "http://" + ln.Addr().String()
}

// TestAuditOwnService runs the shop scenario against a correct shop, one that lets users past
// the limit, and one that drops an acknowledged order; each run's audit (and `flashload audit`
// of its directory afterwards) finds exactly what is wrong, and the sold-out answers are never
// errors.
func TestAuditOwnService(t *testing.T) {
	tests := []struct {
		name  string
		users int
		o     shop.Options
		code  int
		paid  int64 // confirms acknowledged
		check func(t *testing.T, a result.Audit)
		mysql bool // the shop's orders in MariaDB, read by the audit's mysql reader
	}{
		{"correct sale", 200, shop.Options{}, exitOK, 30, func(t *testing.T, a result.Audit) {
			if a.Sold != 30 || a.Stock != 30 || a.Paid != 30 || len(a.Violations) != 0 || a.Duplicates+a.Lost+a.Unexpected+a.Oversold != 0 {
				t.Errorf("a correct sale: %+v", a)
			}
		}, false},
		{"dropped orders", 200, shop.Options{DropEvery: 7}, exitGate, 26, func(t *testing.T, a result.Audit) {
			// 30 acknowledged checkouts, every 7th never stored (its confirm finds no
			// reservation: refused, so not paid): 4 lost.
			if a.Lost != 4 || a.Sold != 26 || a.Paid != 26 || a.Duplicates != 0 || a.Unexpected != 0 || a.Oversold != 0 {
				t.Errorf("dropped orders: %+v", a)
			}
		}, false},
		{"past the limit", 20, shop.Options{BreakLimit: true}, exitGate, 30, func(t *testing.T, a result.Audit) {
			// 30 units to 20 users who each come back: 10 of them get a second unit.
			if a.Duplicates != 10 || a.Lost != 0 || a.Oversold != 0 || a.Sold != 30 {
				t.Errorf("past the limit: %+v", a)
			}
		}, false},
		{"correct sale on MariaDB", 200, shop.Options{}, exitOK, 30, func(t *testing.T, a result.Audit) {
			if a.Sold != 30 || a.Paid != 30 || len(a.Violations) != 0 {
				t.Errorf("a correct sale: %+v", a)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(shopScenario, "USERS", fmt.Sprint(tt.users), 1)
			if tt.mysql {
				tt.o.DB = testenv.MySQL(t)
				src = strings.Replace(src, "postgres: {url:", "mysql: {url:", 1)
			}
			base := startShop(t, tt.o)
			dir := t.TempDir()
			path := filepath.Join(dir, "shop.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "run")
			var stdout, stderr bytes.Buffer
			err := runLive(context.Background(), &runOptions{Scenario: path, Target: base, Out: out, NoTUI: true, Stdout: &stdout, Stderr: &stderr})
			if code := exitCode(err, io.Discard); code != tt.code {
				t.Fatalf("run: exit %d (%v), want %d\n%s", code, err, tt.code, stdout.String())
			}
			run, err := result.ReadRunSummary(out)
			if err != nil {
				t.Fatal(err)
			}
			q := run.Summary.Requests
			if q.Errors != 0 || q.Failed != 0 || q.ByCode["OTHER"] != 0 || q.ByCode["acknowledged"] < 26 {
				t.Errorf("answers counted as errors: errors %d failed %d by_code %v", q.Errors, q.Failed, q.ByCode)
			}
			// Every acknowledged checkout is confirmed with the code its answer carried, and the
			// confirms that found the reservation pay it.
			steps, pay := run.Summary.Steps, run.Summary.Rates["pay_success"]
			if steps["login"].Count != steps["checkout"].Count || steps["confirm"].Count != 30 || pay.Den != 30 || pay.Num != tt.paid ||
				steps["checkout"].Skipped != 0 {
				t.Errorf("login %+v, confirm %+v, checkout %+v, pay_success %+v: want a login per checkout, 30 confirms, %d paid",
					steps["login"], steps["confirm"], steps["checkout"], pay, tt.paid)
			}
			tt.check(t, run.Summary.Audit)
			secretFree(t, out)

			// The run directory audits again to the same verdict.
			var aout bytes.Buffer
			err = auditRun(context.Background(), &auditOptions{Dir: out, Stdout: &aout})
			if code := exitCode(err, io.Discard); code != tt.code {
				t.Fatalf("audit: exit %d (%v), want %d\n%s", code, err, tt.code, aout.String())
			}
			again, err := result.ReadRunSummary(out)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, again.Summary.Audit)
		})
	}
}

// secretFree: nothing in the run directory holds the store's address (its password would be
// in it).
func secretFree(t *testing.T, dir string) {
	t.Helper()
	pg := os.Getenv("FLTEST_SHOP_PG")
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && pg != "" && bytes.Contains(b, []byte(pg)) {
			t.Errorf("%s holds the database's URL", p)
		}
		return nil
	})
}

// TestAuditCommandBadStore: `flashload audit` of a run whose store is gone says so (exit 1),
// leaves audit.checked false with the store's message, and the audit gates say "not checked";
// --orders FILE audits it from an export instead; a directory without attempts is bad input.
func TestAuditCommandBadStore(t *testing.T) {
	base := startShop(t, shop.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(shopScenario, "USERS", "200", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	var stdout bytes.Buffer
	if err := runLive(context.Background(), &runOptions{Scenario: path, Target: base, Out: out, NoTUI: true, Stdout: &stdout, Stderr: io.Discard}); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, audit.AttemptsFile)); err != nil {
		t.Fatal(err)
	}

	// An export of the shop's orders, as its own tooling might write one.
	export := filepath.Join(dir, "orders.csv")
	var rows strings.Builder
	rows.WriteString("user,sku,qty,status\n")
	conn, err := pgx.Connect(context.Background(), os.Getenv("FLTEST_SHOP_PG"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := conn.Query(context.Background(), "SELECT user_id, item, qty, status FROM purchases WHERE sale_id = $1", os.Getenv("FLTEST_SHOP_SALE"))
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var user int64
		var item, status string
		var qty int
		if err := rs.Scan(&user, &item, &qty, &status); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rows, "%d,%s,%d,%s\n", user, item, qty, status)
	}
	conn.Close(context.Background())
	if err := os.WriteFile(export, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	t.Setenv("FLTEST_SHOP_PG", "postgres://shop:pw1234@"+gone+"/shop?connect_timeout=2")
	var aout bytes.Buffer
	err = auditRun(context.Background(), &auditOptions{Dir: out, Stdout: &aout})
	if code := exitCode(err, io.Discard); code != exitRuntime {
		t.Fatalf("unreachable store: exit %d (%v), want 1", code, err)
	}
	sum, err := result.ReadRunSummary(out)
	if err != nil {
		t.Fatal(err)
	}
	if a := sum.Summary.Audit; a.Checked || !strings.Contains(a.Error, gone) || strings.Contains(a.Error, "pw1234") {
		t.Errorf("audit %+v", a)
	}
	if !strings.Contains(aout.String(), "not checked") {
		t.Errorf("the gates do not say \"not checked\":\n%s", aout.String())
	}

	// The same run against the export: clean again.
	aout.Reset()
	if err := auditRun(context.Background(), &auditOptions{Dir: out, Orders: export, Stdout: &aout}); err != nil {
		t.Fatalf("--orders: %v\n%s", err, aout.String())
	}

	err = auditRun(context.Background(), &auditOptions{Dir: dir, Stdout: io.Discard})
	if code := exitCode(err, io.Discard); code != exitUsage {
		t.Errorf("no attempts: exit %d (%v), want 2", code, err)
	}
}
