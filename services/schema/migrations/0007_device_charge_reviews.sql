-- Device-reported charges outside their bounds (issue 11): a charging session whose energy,
-- meter or clock a pile reported beyond what it can deliver, and a trip a car uploaded that is
-- not the member's or not physically possible, are not billed. They wait here for an operator,
-- who approves the reported charge, adjusts it to an amount, or waives it. A decision is billed
-- through the deduction queue under the charge's own reference (`charging:<pileId>:<txId>`,
-- `trip:<tripId>`), so a charge is billed at most once whatever happens.
CREATE TABLE device_charge_reviews (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('charging', 'trip')),
  -- The charge's deduction reference: one review per charge.
  reference text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 200),
  -- The pile id or the car's VIN.
  device text NOT NULL,
  member_id uuid REFERENCES members (id),
  -- What the device reported, and the bound it broke (JSON, for the operator).
  reported jsonb NOT NULL,
  bound jsonb NOT NULL,
  reasons text[] NOT NULL CHECK (cardinality(reasons) > 0),
  -- The price of the reported values, and of the values clamped to the bound.
  reported_fen bigint NOT NULL CHECK (reported_fen >= 0),
  bounded_fen bigint NOT NULL CHECK (bounded_fen >= 0),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'adjusted', 'waived')),
  decided_fen bigint CHECK (decided_fen >= 0),
  decided_by uuid REFERENCES members (id),
  decided_at timestamptz,
  note text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'pending') = (decided_at IS NULL AND decided_by IS NULL))
);
CREATE INDEX device_charge_reviews_pending ON device_charge_reviews (created_at) WHERE status = 'pending';
CREATE INDEX device_charge_reviews_member ON device_charge_reviews (member_id, created_at DESC);

-- A session held for review is completed but not billed by the charging service.
ALTER TABLE charging_transactions ADD COLUMN anomalies text[];

ALTER TABLE vehicle_trips DROP CONSTRAINT IF EXISTS vehicle_trips_outcome_check;
ALTER TABLE vehicle_trips ADD CONSTRAINT vehicle_trips_outcome_check CHECK (outcome IN ('billed', 'online-rental', 'free', 'unbillable', 'review'));
