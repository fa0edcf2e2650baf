-- flashload's PostgreSQL schema: the whole state of the pg-row, pg-occ and tcc strategies (and
-- the book of record of the strategies that persist orders to PostgreSQL). Every replica
-- applies this file at start, under an advisory lock; every statement is idempotent (IF NOT
-- EXISTS, CREATE OR REPLACE, ON CONFLICT), so a restart or a second replica changes nothing.
-- Lock order, everywhere: tcc fence row, order row, per-user hold row, SKU row last (the hot
-- row is held for the shortest time and no two transactions wait on each other in a cycle).

-- The catalogue's version: bumped by every Configure, polled by replicas to refresh caches.
CREATE TABLE IF NOT EXISTS fl_catalog (
  id      int PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL
);
INSERT INTO fl_catalog VALUES (1, 0) ON CONFLICT DO NOTHING;

-- One row per SKU: its definition (the target's opaque JSON), the rules enforced with the
-- stock, and the stock figures. available never goes negative (a constraint, besides the
-- conditional UPDATEs). reserved counts units of reserved orders (tcc: the frozen units).
CREATE TABLE IF NOT EXISTS fl_skus (
  sku            text PRIMARY KEY,
  def            bytea NOT NULL,
  stock          bigint NOT NULL,
  available      bigint NOT NULL CHECK (available >= 0),
  reserved       bigint NOT NULL DEFAULT 0,
  paid           bigint NOT NULL DEFAULT 0,
  released       bigint NOT NULL DEFAULT 0,
  orders         bigint NOT NULL DEFAULT 0,
  taken          bigint NOT NULL DEFAULT 0, -- units ever handed out: the rank for first-N
  version        bigint NOT NULL DEFAULT 0, -- pg-occ's version: bumped whenever available changes
  undersold      bigint NOT NULL DEFAULT 0, -- pg-occ: SOLD_OUT after its retries while units were left
  conflicts      bigint NOT NULL DEFAULT 0, -- pg-occ: conditional writes that lost (retries)
  limit_per_user bigint NOT NULL DEFAULT 0,
  starts_at      timestamptz,
  ends_at        timestamptz,
  first_n        bigint NOT NULL DEFAULT 0
);

CREATE SEQUENCE IF NOT EXISTS fl_order_seq;

-- Orders (tcc: the Try branches; their id is the global transaction id). status: r reserved,
-- p paid, x released. key '' is no idempotency key.
CREATE TABLE IF NOT EXISTS fl_orders (
  id         bigint PRIMARY KEY,
  sku        text NOT NULL,
  user_id    text NOT NULL,
  key        text NOT NULL,
  fp         bigint NOT NULL,
  qty        bigint NOT NULL,
  unit       double precision NOT NULL,
  half       bigint NOT NULL,
  grp        text NOT NULL,
  coupon     text NOT NULL,
  status     "char" NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
-- One order per idempotency key of a user on a SKU.
CREATE UNIQUE INDEX IF NOT EXISTS fl_orders_key ON fl_orders (sku, user_id, key) WHERE key <> '';
-- The expiry sweep's queue.
CREATE INDEX IF NOT EXISTS fl_orders_due ON fl_orders (expires_at) WHERE status = 'r';
CREATE INDEX IF NOT EXISTS fl_orders_sku ON fl_orders (sku);

-- Units a user holds (reserved + paid) on a SKU with a per-user limit: taken in the same
-- transaction as the stock, by a conditional upsert that never goes past the limit.
CREATE TABLE IF NOT EXISTS fl_holds (
  sku     text NOT NULL,
  user_id text NOT NULL,
  held    bigint NOT NULL CHECK (held >= 0),
  PRIMARY KEY (sku, user_id)
);

-- tcc's fence: one row per global transaction. t tried, c confirmed, x cancelled,
-- e empty rollback (a Cancel that came before its Try: the late Try is refused).
CREATE TABLE IF NOT EXISTS fl_tcc_fence (
  xid   bigint PRIMARY KEY,
  sku   text NOT NULL,
  state "char" NOT NULL,
  at    timestamptz NOT NULL
);

-- Group-buys and the team coupons they unlock.
CREATE SEQUENCE IF NOT EXISTS fl_group_seq;
CREATE TABLE IF NOT EXISTS fl_groups (
  id  text PRIMARY KEY,
  sku text NOT NULL
);
CREATE TABLE IF NOT EXISTS fl_group_members (
  group_id text NOT NULL,
  user_id  text NOT NULL,
  seq      int NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE TABLE IF NOT EXISTS fl_coupons (
  sku     text NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (sku, user_id)
);

-- fl_configure creates or resets a SKU: definition, rules, stock, and no orders, holds,
-- fences or undersold count; one transaction, so concurrent Configures end in one of them.
CREATE OR REPLACE FUNCTION fl_configure(p_sku text, p_def bytea, p_stock bigint, p_limit bigint,
    p_starts timestamptz, p_ends timestamptz, p_first_n bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO fl_skus AS s (sku, def, stock, available, limit_per_user, starts_at, ends_at, first_n)
  VALUES (p_sku, p_def, p_stock, p_stock, p_limit, p_starts, p_ends, p_first_n)
  ON CONFLICT (sku) DO UPDATE SET def = p_def, stock = p_stock, available = p_stock, reserved = 0,
    paid = 0, released = 0, orders = 0, taken = 0, version = s.version + 1, undersold = 0,
    conflicts = 0, limit_per_user = p_limit, starts_at = p_starts, ends_at = p_ends, first_n = p_first_n;
  DELETE FROM fl_orders WHERE sku = p_sku;
  DELETE FROM fl_holds WHERE sku = p_sku;
  DELETE FROM fl_tcc_fence WHERE sku = p_sku;
  UPDATE fl_catalog SET version = version + 1 WHERE id = 1;
END $$;

-- fl_reserve is one purchase, one transaction:
--   row: UPDATE fl_skus SET available = available - qty WHERE sku = $1 AND available >= qty;
--   occ: UPDATE ... SET available = READ - qty WHERE sku = $1 AND version = READ_VERSION;
--   tcc: the Try: the fence row first (refused when a Cancel came first), then as row, the
--        units frozen (reserved) and the branch recorded as the order, id = p_xid.
-- Failures after a write raise (SQLSTATE FLSLD sold out, FLLIM limit, FLCNF version conflict,
-- FLRPL: the same key committed while this one waited for a lock, call again to replay it),
-- which rolls the whole transaction back. Answers code, order id, half-price units.
CREATE OR REPLACE FUNCTION fl_reserve(p_mode text, p_sku text, p_user text, p_key text, p_fp bigint,
    p_qty bigint, p_unit double precision, p_grp text, p_coupon text, p_now timestamptz,
    p_expires timestamptz, p_read bigint, p_version bigint, p_xid bigint,
    OUT code text, OUT o_id bigint, OUT o_half bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_lim bigint; v_st timestamptz; v_en timestamptz; v_av bigint;
  v_id bigint; v_fp bigint; v_rank bigint; v_fn bigint;
BEGIN
  o_id := 0; o_half := 0;
  SELECT limit_per_user, starts_at, ends_at, available INTO v_lim, v_st, v_en, v_av
    FROM fl_skus WHERE sku = p_sku;
  IF NOT FOUND THEN code := 'UNKNOWN_SKU'; RETURN; END IF;
  IF v_st IS NOT NULL AND p_now < v_st THEN code := 'NOT_STARTED'; RETURN; END IF;
  IF v_en IS NOT NULL AND p_now >= v_en THEN code := 'ENDED'; RETURN; END IF;
  IF p_key <> '' THEN
    SELECT o.id, o.fp INTO v_id, v_fp FROM fl_orders o
      WHERE o.sku = p_sku AND o.user_id = p_user AND o.key = p_key;
    IF FOUND THEN
      o_id := v_id;
      IF v_fp <> p_fp THEN code := 'KEY_REUSED'; ELSE code := 'REPLAY'; END IF;
      RETURN;
    END IF;
  END IF;
  IF v_lim > 0 AND p_qty > v_lim THEN code := 'LIMIT'; RETURN; END IF;
  -- The latest committed stock (pg-occ: the one it read): when it is short, answer without
  -- writing anything.
  IF p_mode = 'occ' THEN v_av := p_read; END IF;
  IF v_av < p_qty THEN code := 'SOLD_OUT'; RETURN; END IF;
  IF p_mode = 'tcc' THEN
    INSERT INTO fl_tcc_fence (xid, sku, state, at) VALUES (p_xid, p_sku, 't', p_now)
      ON CONFLICT (xid) DO NOTHING;
    IF NOT FOUND THEN code := 'SUSPENDED'; RETURN; END IF;
  END IF;
  IF v_lim > 0 THEN
    INSERT INTO fl_holds AS h (sku, user_id, held) VALUES (p_sku, p_user, p_qty)
      ON CONFLICT (sku, user_id) DO UPDATE SET held = h.held + EXCLUDED.held
      WHERE h.held + EXCLUDED.held <= v_lim;
    IF NOT FOUND THEN
      -- The hold row may have been waited for: a purchase with the same key (another replica,
      -- a retry) may have committed meanwhile, and this statement's snapshot sees it.
      IF p_key <> '' AND EXISTS (SELECT 1 FROM fl_orders o WHERE o.sku = p_sku AND o.user_id = p_user AND o.key = p_key) THEN
        RAISE SQLSTATE 'FLRPL';
      END IF;
      RAISE SQLSTATE 'FLLIM';
    END IF;
  END IF;
  IF p_mode = 'occ' THEN
    UPDATE fl_skus SET available = p_read - p_qty, version = version + 1, reserved = reserved + p_qty,
        taken = taken + p_qty, orders = orders + 1
      WHERE sku = p_sku AND version = p_version
      RETURNING taken - p_qty, first_n INTO v_rank, v_fn;
    IF NOT FOUND THEN RAISE SQLSTATE 'FLCNF'; END IF;
  ELSE
    UPDATE fl_skus SET available = available - p_qty, version = version + 1, reserved = reserved + p_qty,
        taken = taken + p_qty, orders = orders + 1
      WHERE sku = p_sku AND available >= p_qty
      RETURNING taken - p_qty, first_n INTO v_rank, v_fn;
    IF NOT FOUND THEN
      IF p_key <> '' AND EXISTS (SELECT 1 FROM fl_orders o WHERE o.sku = p_sku AND o.user_id = p_user AND o.key = p_key) THEN
        RAISE SQLSTATE 'FLRPL';
      END IF;
      RAISE SQLSTATE 'FLSLD';
    END IF;
  END IF;
  o_half := greatest(0, least(p_qty, v_fn - v_rank));
  IF p_xid <> 0 THEN o_id := p_xid; ELSE o_id := nextval('fl_order_seq'); END IF;
  INSERT INTO fl_orders (id, sku, user_id, key, fp, qty, unit, half, grp, coupon, status, created_at, expires_at)
  VALUES (o_id, p_sku, p_user, p_key, p_fp, p_qty, p_unit, o_half, p_grp, p_coupon, 'r', p_now, p_expires);
  code := 'RESERVED';
END $$;

-- fl_release_order returns a reserved order's units: order, hold, then the SKU row.
CREATE OR REPLACE FUNCTION fl_release_order(o fl_orders) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE fl_orders SET status = 'x' WHERE id = o.id;
  UPDATE fl_holds SET held = held - o.qty WHERE sku = o.sku AND user_id = o.user_id;
  UPDATE fl_skus SET available = available + o.qty, reserved = reserved - o.qty,
      released = released + o.qty, version = version + 1
    WHERE sku = o.sku;
END $$;

-- fl_settle pays (op pay), cancels (op cancel, user checked) or expires (op expire, user '')
-- one order. pg-row and pg-occ: the order row's status decides, under its row lock. tcc:
-- Confirm and Cancel go through the fence row first: both are idempotent, and a Cancel with
-- no Try before it records an empty rollback (state e) that refuses the late Try.
-- Codes: PAID, ALREADY_PAID, EXPIRED (paying a released order), EXPIRED_NOW (paying one past its
-- expiry: released now), RELEASED (already), RELEASED_NOW, NO_ORDER, FORBIDDEN, EMPTY_ROLLBACK.
CREATE OR REPLACE FUNCTION fl_settle(p_tcc boolean, p_id bigint, p_user text, p_now timestamptz, p_op text,
    OUT code text, OUT o fl_orders)
LANGUAGE plpgsql AS $$
DECLARE
  v_state "char";
BEGIN
  IF p_tcc THEN
    IF p_op <> 'pay' THEN
      INSERT INTO fl_tcc_fence (xid, sku, state, at) VALUES (p_id, '', 'e', p_now) ON CONFLICT (xid) DO NOTHING;
      IF FOUND THEN code := 'EMPTY_ROLLBACK'; RETURN; END IF;
    END IF;
    SELECT state INTO v_state FROM fl_tcc_fence WHERE xid = p_id FOR UPDATE;
    IF NOT FOUND OR v_state = 'e' THEN code := 'NO_ORDER'; RETURN; END IF;
  END IF;
  SELECT * INTO o FROM fl_orders WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN code := 'NO_ORDER'; RETURN; END IF;
  IF p_user <> '' AND o.user_id <> p_user THEN code := 'FORBIDDEN'; RETURN; END IF;
  IF o.status = 'p' THEN
    IF p_op = 'pay' THEN code := 'PAID'; ELSE code := 'ALREADY_PAID'; END IF;
    RETURN;
  END IF;
  IF o.status = 'x' THEN
    IF p_op = 'pay' THEN code := 'EXPIRED'; ELSE code := 'RELEASED'; END IF;
    RETURN;
  END IF;
  IF p_op = 'pay' AND p_now < o.expires_at THEN
    IF p_tcc THEN UPDATE fl_tcc_fence SET state = 'c' WHERE xid = p_id; END IF;
    UPDATE fl_orders SET status = 'p' WHERE id = p_id;
    UPDATE fl_skus SET reserved = reserved - o.qty, paid = paid + o.qty WHERE sku = o.sku;
    o.status := 'p';
    code := 'PAID';
    RETURN;
  END IF;
  IF p_op = 'expire' AND p_now < o.expires_at THEN code := 'NOT_DUE'; RETURN; END IF;
  IF p_tcc THEN UPDATE fl_tcc_fence SET state = 'x' WHERE xid = p_id; END IF;
  PERFORM fl_release_order(o);
  o.status := 'x';
  IF p_op = 'pay' THEN code := 'EXPIRED_NOW'; ELSE code := 'RELEASED_NOW'; END IF;
END $$;

-- fl_join_group adds a member under the group's row lock; at p_coupon_at members every member
-- unlocks the SKU's team coupon. Codes: JOINED (members), NO_GROUP, FULL.
CREATE OR REPLACE FUNCTION fl_join_group(p_id text, p_user text, p_max int, p_coupon_at int,
    OUT code text, OUT members int)
LANGUAGE plpgsql AS $$
DECLARE
  v_sku text;
BEGIN
  SELECT sku INTO v_sku FROM fl_groups WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN code := 'NO_GROUP'; members := 0; RETURN; END IF;
  SELECT count(*) INTO members FROM fl_group_members WHERE group_id = p_id;
  IF EXISTS (SELECT 1 FROM fl_group_members WHERE group_id = p_id AND user_id = p_user) THEN
    code := 'JOINED'; RETURN;
  END IF;
  IF members >= p_max THEN code := 'FULL'; RETURN; END IF;
  members := members + 1;
  INSERT INTO fl_group_members (group_id, user_id, seq) VALUES (p_id, p_user, members);
  IF members >= p_coupon_at THEN
    INSERT INTO fl_coupons (sku, user_id) SELECT v_sku, user_id FROM fl_group_members WHERE group_id = p_id
      ON CONFLICT DO NOTHING;
  END IF;
  code := 'JOINED';
END $$;

-- redis-mq (redismq.go): Redis gates the purchase and appends each order to a stream; its
-- consumers persist the orders here, the book of record. mq_gen is the generation of the
-- SKU's last Configure (the Redis catalogue's): an order id carries its generation in its
-- high 32 bits, and a message of an older generation is dropped, not persisted.
-- A replica starting while others sell must not queue behind their transactions for a table
-- lock (ALTER TABLE and CREATE TRIGGER take one even when nothing changes, and with the
-- index checks above they deadlock with purchases): both run only when missing.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'fl_skus'::regclass AND attname = 'mq_gen' AND NOT attisdropped) THEN
    ALTER TABLE fl_skus ADD COLUMN mq_gen bigint NOT NULL DEFAULT 0;
  END IF;
END $$;

-- The outbox of units to give back to the Redis gate: a release of a redis-mq order (cancel,
-- expiry, a late pay) inserts its row in the same transaction (the trigger below); the
-- strategy applies it to Redis idempotently and deletes it.
CREATE TABLE IF NOT EXISTS fl_mq_returns (
  id      bigint PRIMARY KEY,
  sku     text NOT NULL,
  user_id text NOT NULL,
  qty     bigint NOT NULL
);

CREATE OR REPLACE FUNCTION fl_mq_release_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM fl_skus WHERE sku = NEW.sku AND mq_gen > 0) THEN
    INSERT INTO fl_mq_returns (id, sku, user_id, qty) VALUES (NEW.id, NEW.sku, NEW.user_id, NEW.qty)
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'fl_orders'::regclass AND tgname = 'fl_mq_release_outbox') THEN
    CREATE TRIGGER fl_mq_release_outbox AFTER UPDATE OF status ON fl_orders
      FOR EACH ROW WHEN (OLD.status = 'r' AND NEW.status = 'x') EXECUTE FUNCTION fl_mq_release_outbox();
  END IF;
END $$;

-- fl_mq_configure resets a SKU (fl_configure) unless a newer generation already did.
CREATE OR REPLACE FUNCTION fl_mq_configure(p_gen bigint, p_sku text, p_def bytea, p_stock bigint,
    p_limit bigint, p_starts timestamptz, p_ends timestamptz, p_first_n bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_gen bigint;
BEGIN
  SELECT mq_gen INTO v_gen FROM fl_skus WHERE sku = p_sku FOR UPDATE;
  IF FOUND AND v_gen > p_gen THEN RETURN false; END IF;
  PERFORM fl_configure(p_sku, p_def, p_stock, p_limit, p_starts, p_ends, p_first_n);
  UPDATE fl_skus SET mq_gen = p_gen WHERE sku = p_sku;
  DELETE FROM fl_mq_returns WHERE sku = p_sku;
  RETURN true;
END $$;

-- fl_mq_persist inserts a batch of one SKU's orders from the stream, idempotently: an order
-- already there (a redelivered message) changes nothing. The SKU row is locked first, which
-- serializes batches of one SKU (they would meet on its counters anyway) and orders them
-- against a Configure: a batch of another generation inserts nothing. Safe against the
-- schema's lock order, since it only inserts new order rows. Answers the orders inserted, or
-- -1 for a stale generation.
CREATE OR REPLACE FUNCTION fl_mq_persist(p_sku text, p_gen bigint, p_id bigint[], p_user text[],
    p_key text[], p_fp bigint[], p_qty bigint[], p_unit double precision[], p_half bigint[],
    p_grp text[], p_coupon text[], p_created timestamptz[], p_expires timestamptz[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_gen bigint; v_n bigint; v_units bigint;
BEGIN
  SELECT mq_gen INTO v_gen FROM fl_skus WHERE sku = p_sku FOR UPDATE;
  IF NOT FOUND OR v_gen <> p_gen THEN RETURN -1; END IF;
  WITH ins AS (
    INSERT INTO fl_orders (id, sku, user_id, key, fp, qty, unit, half, grp, coupon, status, created_at, expires_at)
    SELECT i, p_sku, u, k, f, q, un, h, g, c, 'r', cr, ex
      FROM unnest(p_id, p_user, p_key, p_fp, p_qty, p_unit, p_half, p_grp, p_coupon, p_created, p_expires)
        AS t(i, u, k, f, q, un, h, g, c, cr, ex)
    ON CONFLICT DO NOTHING
    RETURNING qty)
  SELECT count(*), coalesce(sum(qty), 0) INTO v_n, v_units FROM ins;
  IF v_n > 0 THEN
    UPDATE fl_skus SET available = available - v_units, reserved = reserved + v_units,
        taken = taken + v_units, orders = orders + v_n, version = version + 1
      WHERE sku = p_sku;
  END IF;
  RETURN v_n;
END $$;

-- Push feeds: each SKU's change number, incremented by every notification (notify_pg.go), so
-- every replica numbers a change alike. Kept apart from fl_skus: the purchase path never
-- touches it.
CREATE TABLE IF NOT EXISTS fl_push (
  sku text PRIMARY KEY,
  n   bigint NOT NULL
);
