package scenario

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// EnvPrefix marks a value read from the environment: `env:NAME`. Secrets (a database's password,
// an admin token) come this way, so the scenario file can be shared and nothing secret lands in
// a run directory.
const EnvPrefix = "env:"

var varNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateVars checks the vars block's names and reads its env: values; an unset variable is a
// problem at its value.
func (v *validator) validateVars() {
	for name, val := range v.s.Vars {
		p := joinPath("vars", name)
		if !varNameRe.MatchString(name) {
			v.problem(p, "%q: a variable's name is letters, digits and _", name)
			continue
		}
		got, ok := v.env(p, val)
		if !ok {
			continue
		}
		if strings.Contains(got, "{{") || strings.Contains(got, "}}") {
			v.problem(p, "a value may not hold {{ or }} (it is put into templates as it is)")
			continue
		}
		v.s.Vars[name] = got
	}
}

// env resolves an env:NAME value (anything else is itself); an unset variable is a problem at
// path, and ok is false.
func (v *validator) env(path, val string) (string, bool) {
	name, isEnv := strings.CutPrefix(val, EnvPrefix)
	if !isEnv {
		return val, true
	}
	name = strings.TrimSpace(name)
	if !varNameRe.MatchString(name) {
		v.problem(path, "%q: want env:NAME with NAME an environment variable's name", val)
		return "", false
	}
	got, ok := os.LookupEnv(name)
	if !ok {
		v.problem(path, "the environment variable %s is not set", name)
		return "", false
	}
	return got, true
}

// expandVars puts the vars' values in place of {{vars.NAME}} in s. Other {{...}} stay for the
// template compiler (or for allow, when the caller names them: {{sku}} in an audit key). An
// unknown variable is a problem at path, and s is left as it was.
func (v *validator) expandVars(path string, s *string, allow ...string) {
	if !strings.Contains(*s, "{{") {
		return
	}
	var b strings.Builder
	rest := *s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		tok := rest[i : i+j+2]
		rest = rest[i+j+2:]
		name, isVar := strings.CutPrefix(strings.TrimSpace(tok[2:len(tok)-2]), "vars.")
		if !isVar {
			if allow != nil && !slices.Contains(allow, strings.TrimSpace(tok[2:len(tok)-2])) {
				known := append([]string{"{{vars.NAME}}"}, allowed(allow)...)
				v.problem(path, "%s: unknown variable here (known: %s)", tok, strings.Join(known, ", "))
				return
			}
			b.WriteString(tok)
			continue
		}
		val, ok := v.s.Vars[name]
		if !ok {
			known := slices.Sorted(maps.Keys(v.s.Vars))
			if len(known) == 0 {
				v.problem(path, "{{vars.%s}}: the scenario has no vars: block", name)
			} else {
				v.problem(path, "{{vars.%s}}: unknown variable (vars: %s)", name, strings.Join(known, ", "))
			}
			continue // dropped, so the template compiler does not report it again
		}
		b.WriteString(val)
	}
	*s = b.String()
}

func allowed(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			out = append(out, "{{"+n+"}}")
		}
	}
	return out
}

// expandRequestVars resolves {{vars.NAME}} in every request step (url, headers, body) and api
// entry, before they are compiled as templates.
func (v *validator) expandRequestVars() {
	s := v.s
	for i := range s.Journeys {
		for k := range s.Journeys[i].Steps {
			r := s.Journeys[i].Steps[k].Request
			if r == nil {
				continue
			}
			p := fmt.Sprintf("journeys[%d].steps[%d].request", i, k)
			v.expandVars(p+".url", &r.URL)
			v.expandVars(p+".body", &r.Body)
			for name, h := range r.Headers {
				v.expandVars(p+".headers."+name, &h)
				r.Headers[name] = h
			}
		}
	}
	a := &s.API
	for _, f := range []struct {
		key string
		val *string
	}{{"view", &a.View}, {"purchase", &a.Purchase}, {"pay", &a.Pay}, {"cancel", &a.Cancel},
		{"join_group", &a.JoinGroup}, {"create_group", &a.CreateGroup}, {"open", &a.Open}} {
		v.expandVars("api."+f.key, f.val)
	}
}
