package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/target"
)

func TestServeRunDrainsAndPrintsTheAudit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	addrc := make(chan string, 1)
	opts := &serveOptions{Options: target.Options{Addr: "127.0.0.1:0", Strategy: "memory", AdminToken: "tok"},
		SKUs: []string{"phone:5:10:1"}, DrainTimeout: 5 * time.Second, Out: &out, Err: &errb,
		OrdersOut: filepath.Join(t.TempDir(), "orders.ndjson"),
		ready:     func(a string) { addrc <- a }}
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, opts) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve ended early: %v\n%s", err, errb.String())
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/skus/phone/purchase", nil)
	req.Header.Set("X-User-Id", "u1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("purchase: %d %s", res.StatusCode, body)
	}
	cancel() // what SIGTERM does through main's signal context
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if want := "audit phone: stock=5 available=4 reserved=1 paid=0 released=0 sold=1 oversold=0 orders=1 duplicates=0"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
	orders, err := os.ReadFile(opts.OrdersOut)
	if err != nil || !bytes.Contains(orders, []byte(`"user":"u1","sku":"phone","qty":1,"status":"reserved"`)) || bytes.Count(orders, []byte("\n")) != 1 {
		t.Fatalf("orders file: %q %v", orders, err)
	}
	if strings.Contains(errb.String(), "admin token") {
		t.Fatalf("a chosen token is not printed: %s", errb.String())
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		name, strategy, sku string
		workers             int
		work                string
	}{
		{"unknown strategy", "magic", "", 0, ""},
		{"bad --sku", "memory", "phone", 0, ""},
		{"bad --sku stock", "memory", "phone:many", 0, ""},
		{"bad --work", "memory", "", 4, "exp:fast"},
		{"--workers without --work", "memory", "", 4, ""},
		{"--work without --workers", "memory", "", 0, "exp:5ms"},
		{"negative --workers", "memory", "", -1, "exp:5ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := &serveOptions{Options: target.Options{Addr: "127.0.0.1:0", Strategy: tt.strategy, Workers: tt.workers},
				WorkDist: tt.work, Out: io.Discard, Err: io.Discard}
			if tt.sku != "" {
				opts.SKUs = []string{tt.sku}
			}
			err := serveRun(context.Background(), opts)
			if code := exitCode(err, io.Discard); code != exitUsage {
				t.Fatalf("exit code %d (%v), want %d", code, err, exitUsage)
			}
		})
	}
}

func FuzzParseSKUFlag(f *testing.F) {
	for _, s := range []string{"phone:5", "phone:5:10", "phone:5:10:1", "phone", ":::", "a:1:x", "a:-1:1e309:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseSKUFlag(v)
		if err != nil {
			return
		}
		if n := strings.Count(v, ":"); n < 1 || n > 3 || !strings.HasPrefix(v, c.SKU+":") {
			t.Fatalf("parseSKUFlag(%q) accepted %+v", v, c)
		}
	})
}

// TestServeBinarySIGTERM runs the real binary: it prints its address and a generated admin
// token, sells, and on SIGTERM drains, prints the audit and exits 0.
func TestServeBinarySIGTERM(t *testing.T) {
	bin := testenv.FlashloadBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--sku", "phone:5:10:1")
	cmd.Env = append(os.Environ(), "FLASHLOAD_ADMIN_TOKEN=")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var addr, token string
	for (addr == "" || token == "") && sc.Scan() {
		line := sc.Text()
		if a, ok := strings.CutPrefix(line, "flashload serve: listening on http://"); ok {
			addr = strings.Fields(a)[0]
		}
		if tok, ok := strings.CutPrefix(line, "flashload serve: admin token "); ok {
			token = strings.Fields(tok)[0]
		}
	}
	if addr == "" || token == "" {
		t.Fatalf("no address or token on stderr (addr %q, token %q)", addr, token)
	}
	go io.Copy(io.Discard, stderr)
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/skus/phone/purchase", nil)
	req.Header.Set("X-User-Id", "u1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("purchase: %d", res.StatusCode)
	}
	areq, _ := http.NewRequest("GET", "http://"+addr+"/admin/audit?sku=phone", nil)
	areq.Header.Set("Authorization", "Bearer "+token)
	if res, err := http.DefaultClient.Do(areq); err != nil || res.StatusCode != 200 {
		t.Fatalf("audit with the printed token: %v %v", res, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(stdout.String(), "audit phone: stock=5 available=4 reserved=1") {
		t.Fatalf("stdout %q", stdout.String())
	}
}
