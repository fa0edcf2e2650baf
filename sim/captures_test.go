package sim

import (
	"testing"
)

const captureSale = `
name: capture-sale
seed: 5
duration: 10s
skus: [{sku: x-1, stock: 30, price: 1, limit_per_user: 1}]
users: 200
traffic: {arrivals: uniform, start_rps: 40, stages: [{duration: 10s, rps: 40}]}
journeys:
  - name: buyer
    weight: 1
    steps:
      - request: {name: login, method: POST, url: "/login?user_id={{user}}", capture: [{json: "$.token", as: token, scope: user}]}
      - request:
          name: checkout
          method: POST
          url: /checkout?user_id={{user}}
          headers: {Authorization: "Bearer {{token}}"}
          sku: x-1
          purchase: true
          capture: [{json: "$.code", as: code}]
      - request: {name: confirm, method: POST, url: "/purchase?code={{code}}", settles: checkout}
  - name: browse
    weight: 1
    steps: [{request: {name: me, url: "/me", headers: {X-Token: "{{token}}"}}}]
model: {replicas: 2, service_time: {dist: deterministic, mean: 2ms}}
`

// TestCapturesAndSettles: the simulator plays the program's captures and settles as the live
// engine does: a modelled acknowledged checkout carries its code, so every reserved unit is
// confirmed and the confirm pays it in the book (pay_success, paid in the audit); sold-out
// checkouts end their journeys without a skip; a browse arrival of a user who never logged in
// finds no token kept for the user and ends there, counted as skipped with the program's reason.
func TestCapturesAndSettles(t *testing.T) {
	s := mustParse(t, captureSale)
	for _, mode := range []string{ModeRequest, ModeFluid} {
		sum := runMode(t, s, mode).Summary
		steps, pay := sum.Steps, sum.Rates["pay_success"]
		t.Logf("%s: confirm %d, pay %+v, audit sold %d paid %d, me %d skipped %d", mode, steps["confirm"].Count, pay,
			sum.Audit.Sold, sum.Audit.Paid, steps["me"].Count, steps["me"].Skipped)
		if mode == ModeFluid {
			// The fluid mode keeps no users: it pays what it sells, and cannot tell who kept a token.
			if !within(float64(pay.Num), 30, 1.5) || !within(float64(sum.Audit.Paid), 30, 1.5) {
				t.Errorf("fluid: pay_success %+v, paid %d: want about 30", pay, sum.Audit.Paid)
			}
			continue
		}
		if steps["confirm"].Count != 30 || pay.Num != 30 || pay.Den != 30 || sum.Audit.Sold != 30 || sum.Audit.Paid != 30 {
			t.Errorf("confirm %+v, pay_success %+v, audit %+v: want the 30 units sold, confirmed and paid", steps["confirm"], pay, sum.Audit)
		}
		if steps["checkout"].Skipped != 0 {
			t.Errorf("checkout skipped %d: a sold-out checkout ends its journey, it is not a skip", steps["checkout"].Skipped)
		}
		me := steps["me"]
		if me.Count == 0 || me.Skipped == 0 || me.SkippedReasons["token: no value kept for this user yet (scope: user)"] != me.Skipped {
			t.Errorf("me %+v: want browses sent by users who logged in earlier, and skipped for the others", me)
		}
		if got := sum.Journeys["browse"].Count; got != me.Count {
			t.Errorf("browse journeys counted %d requests, me %d", got, me.Count)
		}
	}
}
