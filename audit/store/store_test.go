package store

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/scenario"
)

const ordersDDL = `CREATE TABLE purchases (id INT PRIMARY KEY, user_id BIGINT NOT NULL, item VARCHAR(64) NOT NULL, n INT, state VARCHAR(16), sale VARCHAR(16))`

var ordersRows = []string{
	`(1, 17, 'phone-x', 1, 'paid', 's1')`,
	`(2, 18, 'phone-x', 2, 'cancelled', 's1')`,
	`(3, 19, 'phone-x', NULL, 'paid', 's1')`,
	`(4, 20, 'phone-x', 1, 'paid', 's2')`,
}

const ordersQuery = `SELECT user_id AS user, item AS sku, n AS qty, state AS status, id FROM purchases WHERE sale = 's1' ORDER BY id`

func checkOrders(t *testing.T, got []audit.Order) {
	t.Helper()
	want := []audit.Order{
		{ID: "1", User: "17", SKU: "phone-x", Qty: 1, Status: "paid"},
		{ID: "2", User: "18", SKU: "phone-x", Qty: 2, Status: "cancelled"},
		{ID: "3", User: "19", SKU: "phone-x", Qty: 1, Status: "paid"}, // NULL qty is one
	}
	if len(got) != len(want) {
		t.Fatalf("orders %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("order %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func read(t *testing.T, spec *scenario.AuditSpec, opts Options) (audit.Truth, error) {
	t.Helper()
	s, err := New(spec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Read(ctx)
}

func TestPostgresReader(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{ordersDDL, "INSERT INTO purchases VALUES " + strings.Join(ordersRows, ","),
		"CREATE TABLE stock (sku TEXT, available NUMERIC)", "INSERT INTO stock VALUES ('phone-x', 196)"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	spec := &scenario.AuditSpec{Orders: scenario.AuditOrders{Postgres: &scenario.SQLSource{URL: url, Query: ordersQuery}},
		Stock: &scenario.AuditStock{Postgres: &scenario.SQLSource{URL: url, Query: "SELECT sku, available FROM stock"}}}
	tr, err := read(t, spec, Options{SKUs: []string{"phone-x"}})
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, tr.Orders)
	if tr.Left["phone-x"] != 196 {
		t.Errorf("left %v", tr.Left)
	}
	sqlBadInput(t, func(q string) *scenario.AuditSpec {
		return &scenario.AuditSpec{Orders: scenario.AuditOrders{Postgres: &scenario.SQLSource{URL: url, Query: q}}}
	}, `relation "nope" does not exist`)
}

func TestMySQLReader(t *testing.T) {
	dsn := testenv.MySQL(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{ordersDDL, "INSERT INTO purchases VALUES " + strings.Join(ordersRows, ","),
		"CREATE TABLE stock (sku VARCHAR(64), available BIGINT)", "INSERT INTO stock VALUES ('phone-x', 196)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The same database as a mysql:// URL.
	cfg := mustDSN(t, dsn)
	asURL := fmt.Sprintf("mysql://%s@%s/%s", cfg.User, cfg.Addr, cfg.DBName)
	for _, u := range []string{dsn, asURL} {
		spec := &scenario.AuditSpec{Orders: scenario.AuditOrders{MySQL: &scenario.SQLSource{URL: u, Query: ordersQuery}},
			Stock: &scenario.AuditStock{MySQL: &scenario.SQLSource{URL: u, Query: "SELECT sku, available FROM stock"}}}
		tr, err := read(t, spec, Options{SKUs: []string{"phone-x"}})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		checkOrders(t, tr.Orders)
		if tr.Left["phone-x"] != 196 {
			t.Errorf("left %v", tr.Left)
		}
	}
	sqlBadInput(t, func(q string) *scenario.AuditSpec {
		return &scenario.AuditSpec{Orders: scenario.AuditOrders{MySQL: &scenario.SQLSource{URL: dsn, Query: q}}}
	}, `nope' doesn't exist`)
}

// sqlBadInput: a query without a needed column names it; a failing query gives the store's own
// message.
func sqlBadInput(t *testing.T, spec func(query string) *scenario.AuditSpec, failing string) {
	t.Helper()
	_, err := read(t, spec("SELECT user_id AS user, item AS sku FROM purchases"), Options{})
	if err == nil || !strings.Contains(err.Error(), "no qty column (the columns are user, sku;") {
		t.Errorf("missing qty: %v", err)
	}
	_, err = read(t, spec("SELECT n AS qty FROM purchases"), Options{})
	if err == nil || !strings.Contains(err.Error(), "no user, sku column") {
		t.Errorf("missing user and sku: %v", err)
	}
	_, err = read(t, spec("SELECT * FROM nope"), Options{})
	if err == nil || !strings.Contains(err.Error(), failing) {
		t.Errorf("failing query: %v, want %q", err, failing)
	}
}

func mustDSN(t *testing.T, dsn string) struct{ User, Addr, DBName string } {
	t.Helper()
	at := strings.Index(dsn, "@tcp(")
	end := strings.Index(dsn, ")/")
	if at < 0 || end < 0 {
		t.Fatalf("dsn %q", dsn)
	}
	db := dsn[end+2:]
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	return struct{ User, Addr, DBName string }{dsn[:at], dsn[at+5 : end], db}
}

// TestUnreachableStoresKeepTheirSecrets: a store that does not answer fails with its own
// message, and neither its URL's password nor the HTTP export's token appears in it.
func TestUnreachableStoresKeepTheirSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	const pw = "s3cretPassw0rd"
	for name, spec := range map[string]*scenario.AuditSpec{
		"postgres": {Orders: scenario.AuditOrders{Postgres: &scenario.SQLSource{URL: "postgres://shop:" + pw + "@" + addr + "/shop?connect_timeout=2", Query: "SELECT 1"}}},
		"mysql":    {Orders: scenario.AuditOrders{MySQL: &scenario.SQLSource{URL: "mysql://shop:" + pw + "@" + addr + "/shop?timeout=2s", Query: "SELECT 1"}}},
		"http":     {Orders: scenario.AuditOrders{HTTP: &scenario.HTTPSource{URL: "/orders", Headers: map[string]string{"Authorization": "Bearer " + pw}}}},
		"redis": {Orders: scenario.AuditOrders{File: "/dev/null"},
			Stock: &scenario.AuditStock{Redis: &scenario.RedisStock{URL: "redis://:" + pw + "@" + addr + "/0", Key: "{{sku}}"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := read(t, spec, Options{Target: "http://" + addr, SKUs: []string{"a"}})
			if err == nil {
				t.Fatal("read from nothing")
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("the secret is in the error: %v", err)
			}
		})
	}
}

func TestHTTPAndFileReaders(t *testing.T) {
	nd := `{"id":1,"user":17,"sku":"phone-x","qty":1,"status":"paid"}` + "\n" + `{"order_id":"2","user":"18","sku":"phone-x","qty":2,"status":"cancelled"}` + "\n" + `{"id":"3","user":"19","sku":"phone-x","status":"paid"}` + "\n"
	csvText := "id,user,sku,qty,status\n1,17,phone-x,1,paid\n2,18,phone-x,2,cancelled\n3,19,phone-x,,paid\n"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/orders.ndjson", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "who are you", 401)
			return
		}
		fmt.Fprint(w, nd)
	})
	mux.HandleFunc("GET /admin/orders.csv", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, csvText) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	auth := map[string]string{"Authorization": "Bearer tok"}
	for _, h := range []*scenario.HTTPSource{
		{URL: "/admin/orders.ndjson", Headers: auth},
		{URL: "/admin/orders.ndjson", Format: "ndjson", Headers: auth},
		{URL: base + "/admin/orders.csv", Format: "csv"},
	} {
		tr, err := read(t, &scenario.AuditSpec{Orders: scenario.AuditOrders{HTTP: h}}, Options{Target: base + "/"})
		if err != nil {
			t.Fatalf("%+v: %v", h, err)
		}
		checkOrders(t, tr.Orders)
	}
	_, err = read(t, &scenario.AuditSpec{Orders: scenario.AuditOrders{HTTP: &scenario.HTTPSource{URL: "/admin/orders.ndjson"}}}, Options{Target: base})
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized who are you") {
		t.Errorf("refused export: %v", err)
	}
	// A file written after the store was made (during the load) is read when the audit runs.
	f := filepath.Join(t.TempDir(), "orders.csv")
	s, err := New(&scenario.AuditSpec{Orders: scenario.AuditOrders{File: f}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkOrders(t, tr.Orders)
	// --orders replaces the block's orders, and the block's stock is still read.
	s, err = New(&scenario.AuditSpec{Orders: scenario.AuditOrders{File: "/nonexistent"}}, Options{OrdersFile: f})
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := s.Read(context.Background()); err != nil || len(tr.Orders) != 3 {
		t.Errorf("--orders: %v %+v", err, tr)
	}
}

func TestRedisStock(t *testing.T) {
	addr := testenv.RedisAddr(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	prefix := fmt.Sprintf("fltest:%d:", time.Now().UnixNano())
	c.Set(ctx, prefix+"phone-x", 5, time.Minute)
	c.Set(ctx, prefix+"case", -2, time.Minute)
	spec := &scenario.AuditSpec{Orders: scenario.AuditOrders{File: "/dev/null"},
		Stock: &scenario.AuditStock{Redis: &scenario.RedisStock{URL: "redis://" + addr + "/0", Key: prefix + "{{sku}}"}}}
	tr, err := read(t, spec, Options{SKUs: []string{"phone-x", "case"}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Left["phone-x"] != 5 || tr.Left["case"] != -2 {
		t.Errorf("left %v", tr.Left)
	}
	_, err = read(t, spec, Options{SKUs: []string{"phone-x", "gone"}})
	if err == nil || !strings.Contains(err.Error(), `redis key "`+prefix+`gone" (sku gone) does not exist`) {
		t.Errorf("missing key: %v", err)
	}
}

func TestNewBadInput(t *testing.T) {
	for name, spec := range map[string]*scenario.AuditSpec{
		"postgres url": {Orders: scenario.AuditOrders{Postgres: &scenario.SQLSource{URL: "postgres://a b:c@/", Query: "x"}}},
		"mysql dsn":    {Orders: scenario.AuditOrders{MySQL: &scenario.SQLSource{URL: "not a dsn", Query: "x"}}},
		"redis url":    {Orders: scenario.AuditOrders{File: "x"}, Stock: &scenario.AuditStock{Redis: &scenario.RedisStock{URL: "http://x", Key: "k"}}},
		"http path":    {Orders: scenario.AuditOrders{HTTP: &scenario.HTTPSource{URL: "/orders"}}},
	} {
		if _, err := New(spec, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzMySQLDSN(f *testing.F) {
	for _, s := range []string{"mysql://root@127.0.0.1:3306/shop", "mysql://u:p%40ss@h/db?parseTime=true&tls=false", "root:pw@tcp(127.0.0.1:3306)/shop", "mysql://", "mysql://[::1]:1/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dsn, err := MySQLDSN(raw)
		if err != nil {
			return
		}
		// What it gives is a DSN the driver reads, and giving it back changes nothing.
		again, err := MySQLDSN(dsn)
		if err != nil || again != dsn && strings.HasPrefix(raw, "mysql://") {
			t.Fatalf("%q gave %q, which reads back as %q, %v", raw, dsn, again, err)
		}
	})
}

func FuzzTableStock(f *testing.F) {
	f.Add("sku,available", "a,1")
	f.Add("SKU,left", "a,-3")
	f.Add("sku", "a")
	f.Fuzz(func(t *testing.T, cols, row string) {
		tb := &table{cols: strings.Split(cols, ","), rows: [][]string{strings.Split(row, ",")}}
		if len(tb.rows[0]) < len(tb.cols) {
			return // the drivers always give as many values as columns
		}
		m, err := tableStock(tb)
		if err == nil && len(m) != 1 {
			t.Fatalf("%d SKUs from one row", len(m))
		}
	})
}

func FuzzTableOrders(f *testing.F) {
	f.Add("user,sku,qty,status", "17,a,1,paid")
	f.Add("user_id,sku,quantity,key", "17,a,x,k")
	f.Fuzz(func(t *testing.T, cols, row string) {
		tb := &table{cols: strings.Split(cols, ","), rows: [][]string{strings.Split(row, ",")}}
		orders, err := tableOrders(tb)
		if err != nil {
			return
		}
		if len(orders) != 1 || orders[0].Qty < 0 || orders[0].SKU == "" && orders[0].Key == "" {
			t.Fatalf("orders %+v from %q", orders, row)
		}
	})
}
