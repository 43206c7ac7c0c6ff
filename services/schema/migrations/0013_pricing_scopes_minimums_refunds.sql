-- Operators run the money rules without SQL (issue 12): pricing plans per car model and/or per
-- station with time-of-day bands, the fleet's minimums to rent, and deposit refunds through the
-- payment provider.

-- A plan's scope: null is "every". The most specific plan in force wins (model and station >
-- model > station > fleet-wide, the pricing package's planFor); the fleet-wide plan is also the
-- one the cars' fleet list takes its deposit from.
ALTER TABLE pricing_plans
  ADD COLUMN vehicle_model text CHECK (length(vehicle_model) BETWEEN 1 AND 100),
  ADD COLUMN station_id uuid REFERENCES stations (id),
  -- The local hours the bands follow (IANA name; the API checks the runtime knows it).
  ADD COLUMN time_zone text NOT NULL DEFAULT 'Asia/Shanghai' CHECK (length(time_zone) BETWEEN 1 AND 64),
  -- [{fromHour, toHour, perMinuteFen}]: per-minute rates by local hour; other hours pay per_minute_fen.
  ADD COLUMN time_bands jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(time_bands) = 'array' AND jsonb_array_length(time_bands) <= 24);
CREATE INDEX pricing_plans_scope ON pricing_plans (vehicle_model, station_id, valid_from DESC);

-- The fleet's minimums to reserve or start a rental, one row the operators change in the console.
CREATE TABLE rental_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- The wallet balance a member must hold (besides the deposit) to reserve or rent.
  min_balance_fen bigint NOT NULL DEFAULT 0 CHECK (min_balance_fen >= 0),
  -- A car below this charge is not offered and cannot be reserved or rented.
  min_soc_pct numeric(5, 2) NOT NULL DEFAULT 20 CHECK (min_soc_pct BETWEEN 0 AND 100),
  updated_by uuid REFERENCES members (id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rental_settings (singleton) VALUES (true);

-- A member's deposit paid back through a payment provider. The deposit leaves the member's
-- account when the refund is created (the ledger entry `deposit-refund:<id>`), so nothing can be
-- rented on it meanwhile; a provider's refusal books it back (`deposit-refund:<id>:reversal`).
-- The id is the provider's idempotency key: asking the provider again cannot pay twice.
CREATE TABLE deposit_refunds (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id),
  provider text NOT NULL CHECK (length(provider) BETWEEN 1 AND 32),
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_ref text,
  failure text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  UNIQUE (member_id, idempotency_key),
  CHECK ((status = 'pending') = (completed_at IS NULL))
);
CREATE UNIQUE INDEX deposit_refunds_one_pending ON deposit_refunds (member_id) WHERE status = 'pending';
