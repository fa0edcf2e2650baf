package scenario

import (
	"path/filepath"
	"strings"
	"time"
)

// AuditSpec is a scenario's `audit:` block: where another service keeps its truth, read once the
// load is over and Settle has passed (asynchronous writers finish the last orders meanwhile).
// String values may be env:NAME and may hold {{vars.NAME}}; Parse resolves both.
type AuditSpec struct {
	Settle Duration    `yaml:"settle"`
	Orders AuditOrders `yaml:"orders"`
	Stock  *AuditStock `yaml:"stock"` // optional: the units left per SKU
}

// AuditOrders names exactly one source of the stored orders. A query or an export has the
// columns user, sku, qty, status and optionally key and id.
type AuditOrders struct {
	Postgres *SQLSource  `yaml:"postgres"` // pgx: postgres:// URL or key=value DSN
	MySQL    *SQLSource  `yaml:"mysql"`    // go-sql-driver/mysql: a DSN or a mysql:// URL
	HTTP     *HTTPSource `yaml:"http"`     // an export: a path on the target or a full URL
	File     string      `yaml:"file"`     // an export written by the service (read after the load)
}

// SQLSource is a database and a query.
type SQLSource struct {
	URL   string `yaml:"url"`
	Query string `yaml:"query"`
}

// HTTPSource is an orders export over HTTP: NDJSON or CSV, sniffed when Format is empty.
type HTTPSource struct {
	URL     string            `yaml:"url"`
	Format  string            `yaml:"format"` // ndjson or csv
	Headers map[string]string `yaml:"headers"`
}

// AuditStock names exactly one source of the units left per SKU.
type AuditStock struct {
	Redis    *RedisStock `yaml:"redis"`    // one key per SKU ({{sku}} in the key)
	Postgres *SQLSource  `yaml:"postgres"` // a query answering (sku, available)
	MySQL    *SQLSource  `yaml:"mysql"`
}

// RedisStock is a Redis server and the key that holds an SKU's units left.
type RedisStock struct {
	URL string `yaml:"url"` // redis://HOST:PORT/DB
	Key string `yaml:"key"`
}

// maxSettle bounds the wait before the audit reads: a typo of 2h must not hang a CI job.
const maxSettle = 10 * time.Minute

// validateAudit checks the audit block, resolves its env: values and {{vars.NAME}}, and makes
// a relative orders file absolute (next to the scenario file).
func (v *validator) validateAudit() {
	a := v.s.Audit
	if a == nil {
		return
	}
	if a.Settle < 0 || a.Settle.D() > maxSettle {
		v.problem("audit.settle", "must be in 0..%s", maxSettle)
	}
	o := &a.Orders
	n := 0
	if o.Postgres != nil {
		n++
		v.sqlSource("audit.orders.postgres", o.Postgres)
	}
	if o.MySQL != nil {
		n++
		v.sqlSource("audit.orders.mysql", o.MySQL)
	}
	if h := o.HTTP; h != nil {
		n++
		v.httpSource("audit.orders.http", h)
	}
	if o.File != "" {
		n++
		if f, ok := v.env("audit.orders.file", o.File); ok {
			v.expandVars("audit.orders.file", &f, "")
			if !filepath.IsAbs(f) && v.s.Dir != "" {
				f = filepath.Join(v.s.Dir, f)
			}
			o.File = f
		}
	}
	if n != 1 {
		v.problem("audit.orders", "want exactly one of postgres, mysql, http, file (got %d)", n)
	}
	if st := a.Stock; st != nil {
		n := 0
		if r := st.Redis; r != nil {
			n++
			v.redisStock("audit.stock.redis", r)
		}
		if st.Postgres != nil {
			n++
			v.sqlSource("audit.stock.postgres", st.Postgres)
		}
		if st.MySQL != nil {
			n++
			v.sqlSource("audit.stock.mysql", st.MySQL)
		}
		if n != 1 {
			v.problem("audit.stock", "want exactly one of redis, postgres, mysql (got %d)", n)
		}
	}
}

func (v *validator) sqlSource(p string, q *SQLSource) {
	if q.URL == "" {
		v.problem(p+".url", "is required (env:NAME keeps the password out of the file)")
	} else if u, ok := v.env(p+".url", q.URL); ok {
		v.expandVars(p+".url", &u, "")
		q.URL = u
	}
	if strings.TrimSpace(q.Query) == "" {
		v.problem(p+".query", "is required")
	} else {
		v.expandVars(p+".query", &q.Query, "")
	}
}

func (v *validator) httpSource(p string, h *HTTPSource) {
	switch {
	case h.URL == "":
		v.problem(p+".url", "is required (a path on the target, /admin/orders, or an http(s) URL)")
	default:
		if u, ok := v.env(p+".url", h.URL); ok {
			v.expandVars(p+".url", &u, "")
			h.URL = u
			if !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				v.problem(p+".url", "%q: want a path starting with / (on the target) or an http(s) URL", u)
			}
		}
	}
	switch h.Format {
	case "", "ndjson", "csv":
	default:
		v.problem(p+".format", "%q: want ndjson or csv", h.Format)
	}
	for k, val := range h.Headers {
		hp := p + ".headers." + k
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			v.problem(hp, "%q is not a header name", k)
		}
		if got, ok := v.env(hp, val); ok {
			v.expandVars(hp, &got, "")
			h.Headers[k] = got
		}
	}
}

func (v *validator) redisStock(p string, r *RedisStock) {
	if r.URL == "" {
		v.problem(p+".url", "is required (redis://HOST:PORT/DB)")
	} else if u, ok := v.env(p+".url", r.URL); ok {
		v.expandVars(p+".url", &u, "")
		r.URL = u
	}
	if r.Key == "" {
		v.problem(p+".key", "is required (one key per SKU: {{sku}} stands for the SKU)")
		return
	}
	v.expandVars(p+".key", &r.Key, "sku")
	if len(v.s.SKUs) > 1 && !strings.Contains(r.Key, "{{") {
		v.problem(p+".key", "%q: the scenario has %d skus: the key needs {{sku}}", r.Key, len(v.s.SKUs))
	}
}
