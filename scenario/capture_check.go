package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxUserNames bounds the scope: user names of a scenario (each user's entry keeps one bit per
// name).
const maxUserNames = 64

// reservedNames are the template's own variables: a capture may not take their names.
var reservedNames = map[string]bool{"user": true, "sku": true, "key": true, "seq": true, "order": true,
	"group": true, "rand": true, "vars": true}

// journeyScope is what the validator knows of one journey's captures while it walks its steps
// in order: the names captured so far, every name the journey captures (to tell "captured
// later" from "never"), and its purchase steps by name (for settles).
type journeyScope struct {
	user      map[string]bool // the scenario's scope: user names
	earlier   map[string]bool
	later     map[string]int // name → 1-based position of the first step that captures it
	purchases map[string]bool
}

// userNames collects the names captured with scope: user anywhere in the scenario: such a value
// may be read by any journey of the same user, captured or not earlier in it.
func (v *validator) userNames() map[string]bool {
	user := map[string]bool{}
	for _, j := range v.s.Journeys {
		for _, st := range j.Steps {
			if st.Request == nil {
				continue
			}
			for _, c := range st.Request.Capture {
				if c.Scope == "user" && c.As != "" {
					user[c.As] = true
				}
			}
		}
	}
	if len(user) > maxUserNames {
		v.problem("journeys", "%d names are captured with scope: user; at most %d", len(user), maxUserNames)
	}
	return user
}

func newJourneyScope(j *Journey, user map[string]bool) *journeyScope {
	js := &journeyScope{user: user, earlier: map[string]bool{}, later: map[string]int{}, purchases: map[string]bool{}}
	for k, st := range j.Steps {
		if st.Request == nil {
			continue
		}
		for _, c := range st.Request.Capture {
			if _, ok := js.later[c.As]; !ok && c.As != "" {
				js.later[c.As] = k + 1
			}
		}
	}
	return js
}

// slots resolves a name in a template of the step being validated.
func (js *journeyScope) slots(name string) (int, error) {
	switch {
	case js == nil:
		return 0, ErrNoSuchCapture
	case js.earlier[name] || js.user[name]:
		return 0, nil
	}
	if at, ok := js.later[name]; ok {
		return 0, fmt.Errorf("used before any step of its journey captures it (step %d does)", at)
	}
	return 0, ErrNoSuchCapture
}

// validateCaptures checks a request step's captures and settles, then makes its captures
// visible to the later steps.
func (v *validator) validateCaptures(p string, r *Request, js *journeyScope, k int) {
	for i := range r.Capture {
		c := &r.Capture[i]
		cp := fmt.Sprintf("%s.capture[%d]", p, i)
		v.validateCapture(cp, c, js)
	}
	if r.Settles != "" {
		switch {
		case r.Purchase:
			v.problem(p+".settles", "a purchase step (purchase: true) cannot settle another")
		case !js.purchases[r.Settles]:
			v.problem(p+".settles", "%q names no earlier purchase step (purchase: true) of the journey%s", r.Settles, suggest(r.Settles, slices.Sorted(maps.Keys(js.purchases))))
		}
	}
	for _, c := range r.Capture {
		if c.As != "" {
			js.earlier[c.As] = true
		}
	}
	if r.Purchase {
		js.purchases[RequestName(r, k)] = true
	}
}

// RequestName is a request step's name in results: its name, or request<N> for the step at
// index k (N = k+1) without one.
func RequestName(r *Request, k int) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("request%d", k+1)
}

func (v *validator) validateCapture(cp string, c *Capture, js *journeyScope) {
	var sources []string
	for _, s := range []struct {
		name, val string
	}{{"json", c.JSON}, {"header", c.Header}, {"regex", c.Regex}, {"cookie", c.Cookie}} {
		if s.val != "" {
			sources = append(sources, s.name)
		}
	}
	switch len(sources) {
	case 0:
		v.problem(cp, "needs one source: json, header, regex or cookie")
	case 1:
		if _, err := CompileCapture(*c); err != nil {
			v.problem(cp+"."+sources[0], "%v", err)
		}
	default:
		v.problem(cp, "has %s: a capture takes one source", strings.Join(sources, " and "))
	}
	if c.Header != "" && strings.ContainsAny(c.Header, " :\r\n\t") {
		v.problem(cp+".header", "%q is not a header name", c.Header)
	}
	if c.Cookie != "" && strings.ContainsAny(c.Cookie, " =;,\r\n\t\"") {
		v.problem(cp+".cookie", "%q is not a cookie name", c.Cookie)
	}
	switch {
	case c.As == "":
		v.problem(cp, "needs as: the variable's name ({{NAME}} in later steps)")
	case !varNameRe.MatchString(c.As):
		v.problem(cp+".as", "%q: a variable's name is letters, digits and _", c.As)
	case reservedNames[c.As]:
		v.problem(cp+".as", "%q is a template variable of its own ({{%s}}): choose another name", c.As, c.As)
	}
	switch c.Scope {
	case "", "journey":
		if js.user[c.As] {
			v.problem(cp+".scope", "%q is kept per user elsewhere (scope: user): say scope: user here too", c.As)
		}
	case "user":
	default:
		v.problem(cp+".scope", "%q: want journey (the default) or user", c.Scope)
	}
}
