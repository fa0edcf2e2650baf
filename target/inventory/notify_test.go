package inventory

import (
	"strings"
	"testing"
)

// FuzzParseNotify: a payload reads back as what notifyPayload wrote, and whatever else
// arrives on the channel is refused or read into a SKU and a number that write the same text.
func FuzzParseNotify(f *testing.F) {
	for _, s := range []string{"7 phone-x", "0 s", "-1 s", "12", " s", "9223372036854775808 s", "3 a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		sku, n, ok := parseNotify(p)
		if !ok {
			return
		}
		if n < 0 || sku == "" {
			t.Fatalf("%q read as %q %d", p, sku, n)
		}
		if back, m, ok := parseNotify(notifyPayload(n, sku)); !ok || back != sku || m != n {
			t.Fatalf("%q: %q %d wrote %q, read back %q %d %v", p, sku, n, notifyPayload(n, sku), back, m, ok)
		}
		if !strings.HasSuffix(p, " "+sku) {
			t.Fatalf("%q: sku %q is not the text after the first space", p, sku)
		}
	})
}
