package scenario

import (
	"path/filepath"
	"strings"
	"testing"
)

const auditBase = `name: shop
vars: {sale: "env:FLTEST_SALE", item: x-1}
skus: [{sku: phone-x, price: 1, stock: 200, limit_per_user: 1}]
traffic: {stages: [{duration: 1s, rps: 10}]}
journeys:
  - name: buyer
    steps:
      - request:
          method: POST
          url: /checkout?user_id={{user}}&id={{vars.item}}
          headers: {X-Sale: "{{vars.sale}}"}
          sku: phone-x
          purchase: true
          classify: [{status: 200, outcome: acknowledged}, {status: 409, outcome: sold_out, code: SOLD_OUT}]
audit:
  settle: 2s
  orders:
    postgres: {url: "env:FLTEST_PG", query: "SELECT user_id AS user, 'phone-x' AS sku, 1 AS qty, 'paid' AS status FROM purchases WHERE sale_id = '{{vars.sale}}'"}
  stock:
    redis: {url: "env:FLTEST_REDIS", key: "sale:{{vars.sale}}:{{sku}}"}
`

func TestAuditBlockAndVars(t *testing.T) {
	t.Setenv("FLTEST_SALE", "s42")
	t.Setenv("FLTEST_PG", "postgres://shop:secret@127.0.0.1:5432/shop")
	t.Setenv("FLTEST_REDIS", "redis://127.0.0.1:6379/0")
	s, err := Parse("shop.yaml", []byte(auditBase))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Journeys[0].Steps[0].Request
	if r.URL != "/checkout?user_id={{user}}&id=x-1" || r.Headers["X-Sale"] != "s42" {
		t.Errorf("request vars not resolved: %q %q", r.URL, r.Headers["X-Sale"])
	}
	a := s.Audit
	if a == nil || a.Settle.D().Seconds() != 2 || a.Orders.Postgres == nil || a.Stock == nil || a.Stock.Redis == nil {
		t.Fatalf("audit block %+v", a)
	}
	if a.Orders.Postgres.URL != "postgres://shop:secret@127.0.0.1:5432/shop" || !strings.HasSuffix(a.Orders.Postgres.Query, "sale_id = 's42'") {
		t.Errorf("orders %+v", a.Orders.Postgres)
	}
	if a.Stock.Redis.Key != "sale:s42:{{sku}}" || a.Stock.Redis.URL != "redis://127.0.0.1:6379/0" {
		t.Errorf("stock %+v", a.Stock.Redis)
	}
	if r.Classify[1].Code != "SOLD_OUT" {
		t.Errorf("classify code %q", r.Classify[1].Code)
	}
}

// TestAuditOrdersFileIsNextToTheScenario: a relative export is read from the scenario's directory,
// and need not exist before the run (the service writes it during the load).
func TestAuditOrdersFileIsNextToTheScenario(t *testing.T) {
	src := strings.Replace(okBase, "name: t", "name: t\naudit: {orders: {file: out/orders.csv}}", 1)
	dir := t.TempDir()
	s, err := Parse(filepath.Join(dir, "x.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Audit.Orders.File != filepath.Join(dir, "out/orders.csv") {
		t.Errorf("file %q", s.Audit.Orders.File)
	}
}

func TestAuditBlockBadInput(t *testing.T) {
	t.Setenv("FLTEST_SALE", "s42")
	t.Setenv("FLTEST_PG", "postgres://x")
	t.Setenv("FLTEST_REDIS", "redis://x")
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown env in vars", `"env:FLTEST_SALE"`, `"env:FLTEST_NOPE_NOT_SET"`, "shop.yaml:2:14: vars.sale: the environment variable FLTEST_NOPE_NOT_SET is not set"},
		{"unknown env in a url", `url: "env:FLTEST_PG"`, `url: "env:FLTEST_NOPE_NOT_SET"`, "audit.orders.postgres.url: the environment variable FLTEST_NOPE_NOT_SET is not set"},
		{"unknown var in a template", "{{vars.item}}", "{{vars.nope}}", "shop.yaml:10:11: journeys[0].steps[0].request.url: {{vars.nope}}: unknown variable (vars: item, sale)"},
		{"unknown var in a query", "sale_id = '{{vars.sale}}'", "sale_id = '{{vars.saleid}}'", "audit.orders.postgres.query: {{vars.saleid}}: unknown variable"},
		{"a request variable in a query", "sale_id = '{{vars.sale}}'", "sale_id = '{{user}}'", "audit.orders.postgres.query: {{user}}: unknown variable here"},
		{"two sources", "  stock:", "    file: orders.csv\n  stock:", "audit.orders: want exactly one of postgres, mysql, http, file (got 2)"},
		{"no query", `, query: "SELECT user_id AS user, 'phone-x' AS sku, 1 AS qty, 'paid' AS status FROM purchases WHERE sale_id = '{{vars.sale}}'"`, "", "audit.orders.postgres.query: is required"},
		{"bad settle", "settle: 2s", "settle: 2h", "audit.settle: must be in 0..10m0s"},
		{"bad code", "code: SOLD_OUT", "code: sold out", `classify[1].code: "sold out": want a code in capitals`},
		{"unknown key", "  settle: 2s", "  setle: 2s", `audit.setle: unknown key "setle" (did you mean "settle"?)`},
		{"bad var name", "item: x-1", "it-em: x-1", `vars.it-em: "it-em": a variable's name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(auditBase, tt.from, tt.to, 1)
			if src == auditBase {
				t.Fatalf("%q not in the base", tt.from)
			}
			_, err := Parse("shop.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "shop.yaml:") {
					t.Errorf("problem without a position: %q", line)
				}
			}
		})
	}
}

func TestAuditRedisKeyNeedsTheSKU(t *testing.T) {
	src := strings.Replace(okBase, "skus: [{sku: x, price: 1}]", "skus: [{sku: x, price: 1}, {sku: y, price: 1}]", 1) +
		"audit: {orders: {file: o.csv}, stock: {redis: {url: redis://127.0.0.1:1/0, key: stock}}}\n"
	_, err := Parse("x.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "audit.stock.redis.key: \"stock\": the scenario has 2 skus: the key needs {{sku}}") {
		t.Fatalf("error %v", err)
	}
}

// FuzzAuditBlock: whatever the audit block holds, Parse reports problems with the file's name
// and a position, never panics, and a block it accepts names exactly one orders source.
func FuzzAuditBlock(f *testing.F) {
	f.Add("{orders: {file: o.csv}}")
	f.Add("{settle: 1s, orders: {http: {url: /admin/orders, format: csv, headers: {Authorization: \"Bearer {{vars.t}}\"}}}}")
	f.Add("{orders: {mysql: {url: \"root@tcp(127.0.0.1:3306)/shop\", query: \"SELECT 1\"}}, stock: {mysql: {url: x, query: y}}}")
	f.Add("{orders: {postgres: {url: env:HOME, query: \"{{vars.t}}\"}}, stock: {redis: {url: r, key: \"{{sku}}\"}}}")
	f.Add("{orders: {file: \"{{vars.t\"}, stock: {}}")
	f.Add("[1, 2]")
	f.Fuzz(func(t *testing.T, block string) {
		src := okBase + "vars: {t: tok}\naudit: " + block + "\n"
		s, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("problem without the file name: %q", line)
				}
			}
			return
		}
		if s.Audit == nil {
			return
		}
		o := s.Audit.Orders
		n := 0
		for _, set := range []bool{o.Postgres != nil, o.MySQL != nil, o.HTTP != nil, o.File != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("accepted %d orders sources: %+v", n, o)
		}
	})
}
