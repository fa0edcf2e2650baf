package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flashload/flashload/audit"
	"github.com/flashload/flashload/scenario"
)

type sqlSource = scenario.SQLSource

// maxExport bounds an HTTP export's size (1 GiB): a runaway answer must not eat the machine.
const maxExport = 1 << 30

// fileOrders reads an export the service wrote (NDJSON or CSV), when the audit runs: the file
// may appear during the load.
func fileOrders(path string) ordersReader {
	return func(ctx context.Context) ([]audit.Order, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		orders, err := audit.ReadOrders(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return orders, nil
	}
}

// httpOrders reads an export over HTTP: a path is joined to the target's base URL.
func (s *Store) httpOrders(path string, h *scenario.HTTPSource, target string) (ordersReader, error) {
	u := h.URL
	if strings.HasPrefix(u, "/") {
		if target == "" {
			return nil, fmt.Errorf("%s.url: %q is a path, and there is no target to read it from", path, u)
		}
		u = strings.TrimRight(strings.Split(target, ",")[0], "/") + u
	}
	for _, v := range h.Headers {
		s.secrets = append(s.secrets, v)
	}
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", path, err)
	}
	format := h.Format
	headers := h.Headers
	client := &http.Client{Timeout: 2 * time.Minute}
	return func(ctx context.Context) ([]audit.Order, error) {
		r := req.Clone(ctx)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		resp, err := client.Do(r)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body := io.LimitReader(resp.Body, maxExport)
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(io.LimitReader(body, 512))
			return nil, fmt.Errorf("GET %s: %s %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(b)))
		}
		var orders []audit.Order
		switch format {
		case "ndjson":
			orders, err = audit.ReadOrdersNDJSON(body)
		case "csv":
			orders, err = audit.ReadOrdersCSV(body)
		default:
			orders, err = audit.ReadOrders(body)
		}
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
		}
		return orders, nil
	}, nil
}

// redisStock reads one key per SKU ({{sku}} in the key stands for it): a whole number of
// units left. A missing key is an error: a store that does not say cannot be checked.
func (s *Store) redisStock(path string, r *scenario.RedisStock, skus []string) (stockReader, error) {
	s.secret(r.URL)
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", path, err)
	}
	if opt.Password != "" {
		s.secrets = append(s.secrets, opt.Password)
	}
	key := r.Key
	return func(ctx context.Context) (map[string]int64, error) {
		c := redis.NewClient(opt)
		defer c.Close()
		out := make(map[string]int64, len(skus))
		for _, sku := range skus {
			k := strings.ReplaceAll(strings.ReplaceAll(key, "{{sku}}", sku), "{{ sku }}", sku)
			v, err := c.Get(ctx, k).Result()
			if err == redis.Nil {
				return nil, fmt.Errorf("redis key %q (sku %s) does not exist", k, sku)
			}
			if err != nil {
				return nil, fmt.Errorf("redis key %q: %w", k, err)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("redis key %q holds %q, not a whole number of units", k, v)
			}
			out[sku] = n
		}
		return out, nil
	}, nil
}
