package target_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"

	"github.com/flashload/flashload/target"
)

// The target in-process, as `flashload rehearse` runs it: a SKU, a purchase, the audit.
func ExampleNew() {
	ctx := context.Background()
	srv, err := target.New(ctx, target.Options{Strategy: "memory"})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := srv.ConfigureSKU(ctx, target.SKUConfig{SKU: "phone-x", Stock: 3, Price: 3999, LimitPerUser: 1}); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)

	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/skus/phone-x/purchase", nil)
	req.Header.Set("X-User-Id", "alice")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var answer struct {
		Code  string  `json:"code"`
		Price float64 `json:"price"`
	}
	json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	fmt.Println(res.StatusCode, answer.Code, answer.Price)

	if err := srv.Shutdown(ctx); err != nil {
		panic(err)
	}
	a, _ := srv.Audit(ctx, "phone-x")
	fmt.Printf("stock %d, available %d, sold %d, oversold %d\n", a.Stock, a.Available, a.Sold, a.Oversold)
	// Output:
	// 201 RESERVED 3999
	// stock 3, available 2, sold 1, oversold 0
}
