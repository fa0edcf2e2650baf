package inventory

import (
	"strconv"
	"strings"
	"time"
)

// The stored order record of the Redis strategies: one line of TAB-separated fields,
//
//	key user qty unit half group coupon created_ms expires_ms fp home_bucket
//
// written by the reserving scripts (luaOrderRecord: redis-lua, redis-sharded, redis-mq), by
// redis-lock (orderRecord.encode), and read by decodeRecord, whoever wrote it. The Lua that
// settles an order reads the quantity as the record's third field (recQty + 1 in Lua's counting).
const (
	recKey = iota
	recUser
	recQty
	recUnit
	recHalf
	recGroup
	recCoupon
	recCreated
	recExpires
	recFP
	recHome
	recFields
)

// luaOrderRecord builds the record in a script, its arguments in the record's order.
const luaOrderRecord = `
local function orderRecord(key, user, qty, unit, half, group, coupon, created, expires, fp, home)
  return table.concat({key, user, qty, unit, tostring(half), group, coupon, created, expires, fp, home}, '\t')
end
`

// orderRecord is what the record holds of an order: the rest (its id, SKU and status) is kept
// beside it.
type orderRecord struct {
	Key, User        string
	Qty              int64
	Unit             float64
	Half             int64
	Group, Coupon    string
	Created, Expires int64 // unix ms
	FP               uint64
	Home             int // the bucket that holds the user's units (redis-sharded); 0 elsewhere
}

// recordOf is the record of a purchase request that took half units at half price.
func recordOf(r Request, half int64, home int) orderRecord {
	return orderRecord{Key: r.Key, User: r.User, Qty: r.Qty, Unit: r.UnitPrice, Half: half, Group: r.Group,
		Coupon: r.Coupon, Created: r.Now.UnixMilli(), Expires: r.Now.Add(r.TTL).UnixMilli(), FP: r.FP, Home: home}
}

func (o orderRecord) encode() string {
	return strings.Join([]string{o.Key, o.User, strconv.FormatInt(o.Qty, 10), formatUnit(o.Unit),
		strconv.FormatInt(o.Half, 10), o.Group, o.Coupon, strconv.FormatInt(o.Created, 10),
		strconv.FormatInt(o.Expires, 10), strconv.FormatUint(o.FP, 10), strconv.Itoa(o.Home)}, "\t")
}

// formatUnit is a unit price as the scripts receive it (the shortest decimal that reads back
// to the same float).
func formatUnit(u float64) string { return strconv.FormatFloat(u, 'f', -1, 64) }

// decodeRecord reads a record. A record with another number of fields is not one; a field that
// does not parse reads as zero, as a script that stored it would have read it.
func decodeRecord(d string) (orderRecord, bool) {
	var f [recFields]string
	for i := range recFields - 1 {
		v, rest, ok := strings.Cut(d, "\t")
		if !ok {
			return orderRecord{}, false
		}
		f[i], d = v, rest
	}
	if strings.IndexByte(d, '\t') >= 0 {
		return orderRecord{}, false
	}
	f[recHome] = d
	o := orderRecord{Key: f[recKey], User: f[recUser], Group: f[recGroup], Coupon: f[recCoupon]}
	o.Qty, _ = strconv.ParseInt(f[recQty], 10, 64)
	o.Unit, _ = strconv.ParseFloat(f[recUnit], 64)
	o.Half, _ = strconv.ParseInt(f[recHalf], 10, 64)
	o.Created, _ = strconv.ParseInt(f[recCreated], 10, 64)
	o.Expires, _ = strconv.ParseInt(f[recExpires], 10, 64)
	o.FP, _ = strconv.ParseUint(f[recFP], 10, 64)
	o.Home, _ = strconv.Atoi(f[recHome])
	return o, true
}

// order is the order the record describes, with its id, SKU and status.
func (o orderRecord) order(id, sku string, st Status) Order {
	return Order{ID: id, SKU: sku, Key: o.Key, User: o.User, Qty: o.Qty, Status: st, Unit: o.Unit, Half: o.Half,
		Price: Total(o.Unit, o.Qty, o.Half), Group: o.Group, Coupon: o.Coupon, FP: o.FP,
		CreatedAt: time.UnixMilli(o.Created), ExpiresAt: time.UnixMilli(o.Expires)}
}
