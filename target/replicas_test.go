package target

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
)

// These tests run the real thing: the flashload binary, built once, started as several
// `serve` processes on one Redis.

// replica is one `flashload serve` process.
type replica struct {
	t    *testing.T
	args []string
	cmd  *exec.Cmd
	url  string
}

func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	r := &replica{t: t, args: args}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *replica) start() {
	r.t.Helper()
	r.cmd = exec.Command(testenv.FlashloadBinary(r.t), append([]string{"serve", "--addr", "127.0.0.1:0"}, r.args...)...)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				addr <- u
			}
		}
	}()
	select {
	case r.url = <-addr:
	case <-time.After(15 * time.Second):
		r.t.Fatalf("serve %v did not start listening", r.args)
	}
}

// kill is SIGKILL: no drain, no goodbye.
func (r *replica) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.cmd.Wait()
		r.cmd = nil
	}
}

var replicaClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends one request; err is a transport error (the outcome is unknown to the client).
func call(method, url, user, key, token, body string) (int, map[string]any, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if user != "" {
		req.Header.Set("X-User-Id", user)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := replicaClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, b, nil
}

const replicaToken = "replica-token"

func replicaAudit(t *testing.T, r *replica, sku string) auditJSON {
	t.Helper()
	st, _, b, err := call("GET", r.url+"/admin/audit?sku="+sku, "", "", replicaToken, "")
	if err != nil || st != 200 {
		t.Fatalf("audit on %s: %d %s %v", r.url, st, b, err)
	}
	var a auditJSON
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func replicaArgs(t *testing.T, strategy string, extra ...string) []string {
	if strings.HasPrefix(strategy, "pg-") || strategy == "tcc" {
		return append([]string{"--strategy", strategy, "--postgres", testenv.Postgres(t), "--admin-token", replicaToken}, extra...)
	}
	prefix := fmt.Sprintf("flrep-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), testPrefixes.Add(1))
	args := []string{"--strategy", strategy, "--redis", "redis://" + testenv.RedisAddr(t) + "/0",
		"--redis-prefix", prefix, "--admin-token", replicaToken, "--shards", "4"}
	if strategy == "redis-mq" {
		// A SIGKILLed replica's pending messages are claimed by the others after 500ms.
		args = append(args, "--postgres", testenv.Postgres(t), "--claim-idle", "500ms")
	}
	return append(args, extra...)
}

// TestThreeReplicasOneService: three `serve` processes on one Redis are one service. A SKU
// made on one is bought on the others at once; 2000 users race for 300 units through all
// three while one replica is SIGKILLed and restarted: exactly 300 sold, every acknowledged
// order stored, the same clean audit on every replica, and the restarted one sells at once.
func TestThreeReplicasOneService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	for _, strategy := range []string{"redis-lua", "redis-sharded", "redis-lock", "redis-mq", "pg-row", "pg-occ", "tcc"} {
		t.Run(strategy, func(t *testing.T) { threeReplicas(t, strategy) })
	}
}

func threeReplicas(t *testing.T, strategy string) {
	args := replicaArgs(t, strategy)
	reps := []*replica{startReplica(t, args...), startReplica(t, args...), startReplica(t, args...)}

	// Read-your-writes: created on replica 0, sold on 1 and 2 right away.
	if st, _, b, err := call("POST", reps[0].url+"/admin/skus", "", "", replicaToken, `{"sku":"probe","stock":5,"price":3}`); err != nil || st != 201 {
		t.Fatalf("create on replica 0: %d %s %v", st, b, err)
	}
	for i, r := range reps[1:] {
		if st, _, b, err := call("POST", r.url+"/v1/skus/probe/purchase", "p"+strconv.Itoa(i), "", "", ""); err != nil || st != 201 {
			t.Fatalf("purchase on replica %d right after the create on replica 0: %d %s %v", i+1, st, b, err)
		}
	}

	const stock, users = 300, 2000
	if st, _, b, err := call("POST", reps[1].url+"/admin/skus", "", "", replicaToken,
		fmt.Sprintf(`{"sku":"flash","stock":%d,"price":10,"limit_per_user":1}`, stock)); err != nil || st != 201 {
		t.Fatalf("create: %d %s %v", st, b, err)
	}
	var (
		mu        sync.Mutex
		urls      = []string{reps[0].url, reps[1].url, reps[2].url}
		acked     = map[string]string{} // order id -> user
		codes     = map[int]int{}
		unknown   atomic.Int64 // transport errors, retried on another replica with the same key
		next      atomic.Int64
		restarted = make(chan struct{})
		firstNew  atomic.Int64 // status of the restarted replica's first purchase answer
		restartAt time.Time
		firstAt   time.Time
		probeTook time.Duration
	)
	const killAt = 120 // users started when replica 1 is killed
	start := time.Now()
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				if i == killAt {
					reps[1].kill()
					reps[1].start()
					// It serves at once: the catalogue and the stock are in Redis.
					probeAt := time.Now()
					st, _, b, err := call("POST", reps[1].url+"/v1/skus/probe/purchase", "after-restart", "", "", "")
					if err != nil || st != 201 {
						t.Errorf("first purchase on the restarted replica: %d %s %v", st, b, err)
					}
					probeTook = time.Since(probeAt)
					mu.Lock()
					urls[1] = reps[1].url
					restartAt = time.Now()
					mu.Unlock()
					close(restarted)
				}
				user := "u" + strconv.Itoa(i)
				for try := 0; ; try++ {
					mu.Lock()
					url := urls[(i+try)%3]
					isNew := !restartAt.IsZero() && url == urls[1]
					mu.Unlock()
					st, m, b, err := call("POST", url+"/v1/skus/flash/purchase", user, "k-"+user, "", `{"qty":1}`)
					if isNew && err == nil && firstNew.CompareAndSwap(0, int64(st)) {
						firstAt = time.Now()
					}
					if err != nil || st == 503 {
						unknown.Add(1)
						if try > 20 {
							t.Errorf("%s: no answer after %d tries: %v %s", user, try, err, b)
							return
						}
						time.Sleep(20 * time.Millisecond)
						continue
					}
					mu.Lock()
					codes[st]++
					if st == 201 || st == 200 {
						id, _ := m["order_id"].(string)
						if prev, ok := acked[id]; ok && prev != user {
							t.Errorf("order %s acknowledged to %s and %s", id, prev, user)
						}
						acked[id] = user
					} else if st != 410 {
						t.Errorf("%s on %s: %d %s", user, url, st, b)
					}
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	<-restarted
	// 0: the race ended while the replica restarted (a fast strategy); the probe above
	// already showed that it sells at once.
	if st := firstNew.Load(); st != 0 && st != 201 && st != 410 {
		t.Fatalf("the restarted replica's first purchase answer: %d (want 201, or 410 once sold out)", st)
	}
	if len(acked) != stock {
		t.Fatalf("%d orders acknowledged, want %d (answers %v)", len(acked), stock, codes)
	}
	var first auditJSON
	for i, r := range reps {
		a := replicaAudit(t, r, "flash")
		conserved(t, a)
		if a.Sold != stock || a.Oversold != 0 || a.Duplicates != 0 || a.Orders != stock || a.Available != 0 {
			t.Fatalf("replica %d audit %+v: want exactly %d sold, no duplicates", i, a, stock)
		}
		if i == 0 {
			first = a
		} else if a != first {
			t.Fatalf("replica %d sees %+v, replica 0 %+v", i, a, first)
		}
	}
	// Every acknowledged order is stored, for its user.
	st, _, body, err := call("GET", reps[2].url+"/admin/orders?sku=flash", "", "", replicaToken, "")
	if err != nil || st != 200 {
		t.Fatalf("orders: %d %v", st, err)
	}
	stored := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		var o struct {
			OrderID string `json:"order_id"`
			User    string `json:"user"`
		}
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatal(err)
		}
		stored[o.OrderID] = o.User
	}
	for id, u := range acked {
		if stored[id] != u {
			t.Fatalf("acknowledged order %s of %s is not stored (%q)", id, u, stored[id])
		}
	}
	t.Logf("%s: %d users, %d units through 3 replicas in %v; answers %v, %d transport errors/503 retried; replica 1 SIGKILLed after %d users, its first purchase answered 201 in %v, its first answer on the race %d %v after it listened; audit %+v",
		strategy, users, stock, elapsed.Round(time.Millisecond), codes, unknown.Load(), killAt, probeTook.Round(time.Microsecond),
		firstNew.Load(), firstAt.Sub(restartAt).Round(time.Millisecond), first)
}

// TestReplicasReleaseEachReservationOnce: reservations with a 1 s TTL made through three
// replicas, some paid through another replica; every unpaid one is released exactly once
// whichever replica sweeps it, and every replica's event stream shows every replica's sales.
func TestReplicasReleaseEachReservationOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	for _, strategy := range []string{"redis-lua", "redis-lock", "redis-mq"} {
		t.Run(strategy, func(t *testing.T) { replicasReleaseOnce(t, strategy) })
	}
}

func replicasReleaseOnce(t *testing.T, strategy string) {
	args := replicaArgs(t, strategy, "--reservation-ttl", "1s")
	reps := []*replica{startReplica(t, args...), startReplica(t, args...), startReplica(t, args...)}
	const stock, buyers, payers = 200, 150, 50
	if st, _, b, err := call("POST", reps[0].url+"/admin/skus", "", "", replicaToken, fmt.Sprintf(`{"sku":"ttl","stock":%d,"price":10}`, stock)); err != nil || st != 201 {
		t.Fatalf("create: %d %s %v", st, b, err)
	}
	ids := make([]string, buyers)
	for i := range buyers {
		st, m, b, err := call("POST", reps[i%3].url+"/v1/skus/ttl/purchase", "u"+strconv.Itoa(i), "", "", "")
		if err != nil || st != 201 {
			t.Fatalf("purchase %d: %d %s %v", i, st, b, err)
		}
		ids[i], _ = m["order_id"].(string)
	}
	for i := range payers {
		if st, _, b, err := call("POST", reps[(i+1)%3].url+"/v1/orders/"+ids[i]+"/pay", "u"+strconv.Itoa(i), "", "", ""); err != nil || st != 200 {
			t.Fatalf("pay %s on another replica: %d %s %v", ids[i], st, b, err)
		}
	}
	// Every replica's subscribers see every replica's sales.
	for i, r := range reps {
		st, _, b, err := call("GET", r.url+"/v1/skus/ttl/events?max=1", "", "", "", "")
		if err != nil || st != 200 || !strings.Contains(string(b), fmt.Sprintf(`"available":%d`, stock-buyers)) {
			t.Fatalf("event stream of replica %d: %d %s %v", i, st, b, err)
		}
	}
	var a auditJSON
	deadline := time.Now().Add(20 * time.Second)
	for {
		a = replicaAudit(t, reps[2], "ttl")
		if a.Reserved == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	conserved(t, a)
	if a.Reserved != 0 || a.Paid != payers || a.Released != buyers-payers || a.Available != stock-payers {
		t.Fatalf("audit %+v: want %d paid and the %d unpaid released exactly once", a, payers, buyers-payers)
	}
	st, _, body, err := call("GET", reps[1].url+"/admin/orders?sku=ttl", "", "", replicaToken, "")
	if err != nil || st != 200 {
		t.Fatalf("orders: %d %v", st, err)
	}
	released := strings.Count(string(body), `"status":"released"`)
	if released != buyers-payers {
		t.Fatalf("%d orders released, want %d", released, buyers-payers)
	}
	// A released order cannot be paid any more, on any replica.
	if st, m, _, err := call("POST", reps[0].url+"/v1/orders/"+ids[buyers-1]+"/pay", "u"+strconv.Itoa(buyers-1), "", "", ""); err != nil || st != 409 || m["code"] != "EXPIRED" {
		t.Fatalf("paying a released order: %d %v %v", st, m, err)
	}
}
