-- The rental business (patent claim 7): stations, vehicles, pricing plans, membership cards,
-- reservations, rentals. Money is integer fen, times timestamptz (UTC), ids uuid. The invariants
-- that concurrent requests could break (one car, one holder; one member, one hold) are enforced
-- here by constraints, not only by application code.

-- What renting needs from a member. The billing migration (0003) owns these columns' meaning;
-- they are added here, identically and idempotently, so renting works whichever lands first.
ALTER TABLE members ADD COLUMN IF NOT EXISTS wallet_balance_fen bigint NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN IF NOT EXISTS deposit_fen bigint NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN IF NOT EXISTS licence_status text NOT NULL DEFAULT 'unverified'
  CHECK (licence_status IN ('unverified', 'pending', 'approved', 'rejected'));

CREATE TABLE stations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lng double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
  geofence_radius_m integer NOT NULL CHECK (geofence_radius_m BETWEEN 1 AND 10000),
  capacity integer NOT NULL CHECK (capacity BETWEEN 0 AND 10000),
  -- round-trip: only cars rented here may come back here; open: any car may be returned here.
  return_policy text NOT NULL CHECK (return_policy IN ('round-trip', 'open')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  vin text NOT NULL UNIQUE CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
  plate text NOT NULL UNIQUE CHECK (length(plate) BETWEEN 2 AND 16),
  model text NOT NULL CHECK (length(model) BETWEEN 1 AND 100),
  battery_kwh numeric(6, 2) NOT NULL CHECK (battery_kwh > 0),
  rated_range_km integer NOT NULL CHECK (rated_range_km > 0),
  home_station_id uuid NOT NULL REFERENCES stations (id),
  -- Null while the car is being driven (state in_use).
  station_id uuid REFERENCES stations (id),
  -- Last position, charge, odometer and door state reported by the car's terminal.
  lat double precision CHECK (lat BETWEEN -90 AND 90),
  lng double precision CHECK (lng BETWEEN -180 AND 180),
  soc_pct numeric(5, 2) NOT NULL DEFAULT 100 CHECK (soc_pct BETWEEN 0 AND 100),
  odometer_m bigint NOT NULL DEFAULT 0 CHECK (odometer_m >= 0),
  doors_locked boolean NOT NULL DEFAULT true,
  reported_at timestamptz,
  state text NOT NULL DEFAULT 'available'
    CHECK (state IN ('available', 'reserved', 'in_use', 'charging', 'maintenance', 'offline')),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- A car being driven is at no station; a car at rest is at one.
  CHECK ((state = 'in_use') = (station_id IS NULL))
);
CREATE INDEX vehicles_station ON vehicles (station_id, state);

-- Prices are immutable once published (rentals reference the plan they started under); a new
-- price is a new plan. The plan in force at an instant is the valid one with the latest valid_from.
CREATE TABLE pricing_plans (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  per_minute_fen bigint NOT NULL CHECK (per_minute_fen >= 0),
  per_km_fen bigint NOT NULL CHECK (per_km_fen >= 0),
  -- Cap on the time fee per 24-hour period of a rental; null for none.
  daily_cap_fen bigint CHECK (daily_cap_fen >= 0),
  minimum_fen bigint NOT NULL DEFAULT 0 CHECK (minimum_fen >= 0),
  reservation_fee_fen bigint NOT NULL DEFAULT 0 CHECK (reservation_fee_fen >= 0),
  hold_minutes integer NOT NULL DEFAULT 15 CHECK (hold_minutes BETWEEN 1 AND 1440),
  one_way_fee_fen bigint NOT NULL DEFAULT 0 CHECK (one_way_fee_fen >= 0),
  one_way_per_km_fen bigint NOT NULL DEFAULT 0 CHECK (one_way_per_km_fen >= 0),
  -- The deposit a member must have paid to rent under this plan.
  deposit_fen bigint NOT NULL DEFAULT 0 CHECK (deposit_fen >= 0),
  valid_from timestamptz NOT NULL,
  valid_to timestamptz,
  published_by uuid REFERENCES members (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX pricing_plans_validity ON pricing_plans (valid_from DESC);

CREATE TABLE membership_cards (
  uid text PRIMARY KEY CHECK (uid ~ '^[0-9A-F]{8,20}$'),
  member_id uuid REFERENCES members (id) ON DELETE SET NULL,
  bound_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((member_id IS NULL) = (bound_at IS NULL))
);
CREATE INDEX membership_cards_member ON membership_cards (member_id);

CREATE TABLE reservations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id),
  station_id uuid NOT NULL REFERENCES stations (id),
  plan_id uuid NOT NULL REFERENCES pricing_plans (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'converted', 'cancelled', 'expired')),
  -- Charged only when the hold expires unused.
  fee_fen bigint NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
  CHECK ((status = 'active') = (ended_at IS NULL))
);
CREATE UNIQUE INDEX reservations_one_per_vehicle ON reservations (vehicle_id) WHERE status = 'active';
CREATE UNIQUE INDEX reservations_one_per_member ON reservations (member_id) WHERE status = 'active';
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'active';
CREATE INDEX reservations_member ON reservations (member_id, created_at DESC);

-- unlocking: created, waiting for the car to acknowledge the unlock command; failed: the car
-- never did, so the rental was rolled back (kept for the record).
CREATE TABLE rentals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id),
  reservation_id uuid UNIQUE REFERENCES reservations (id),
  card_uid text REFERENCES membership_cards (uid) ON DELETE SET NULL,
  plan_id uuid NOT NULL REFERENCES pricing_plans (id),
  start_station_id uuid NOT NULL REFERENCES stations (id),
  end_station_id uuid REFERENCES stations (id),
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  start_odometer_m bigint NOT NULL,
  end_odometer_m bigint,
  start_soc_pct numeric(5, 2) NOT NULL,
  end_soc_pct numeric(5, 2),
  unlock_command_id uuid NOT NULL UNIQUE,
  price jsonb,
  total_fen bigint CHECK (total_fen >= 0),
  status text NOT NULL DEFAULT 'unlocking' CHECK (status IN ('unlocking', 'active', 'ended', 'failed')),
  CHECK ((status = 'ended') = (ended_at IS NOT NULL AND total_fen IS NOT NULL AND end_station_id IS NOT NULL))
);
CREATE UNIQUE INDEX rentals_one_per_vehicle ON rentals (vehicle_id) WHERE status IN ('unlocking', 'active');
CREATE UNIQUE INDEX rentals_one_per_member ON rentals (member_id) WHERE status IN ('unlocking', 'active');
CREATE INDEX rentals_member ON rentals (member_id, started_at DESC);
CREATE INDEX rentals_unlocking ON rentals (started_at) WHERE status = 'unlocking';

-- Transactional outbox: a fee is recorded here in the same transaction as the business change,
-- then published to the DEDUCTIONS stream; a sweep republishes what a crash left unpublished.
-- The reference is also the stream's message id and the ledger's unique key, so a fee is
-- charged once however often it is published.
CREATE TABLE rental_deduction_outbox (
  reference text PRIMARY KEY,
  message jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX rental_deduction_outbox_pending ON rental_deduction_outbox (created_at) WHERE published_at IS NULL;

-- A charging slot at a pile (the pile side lands with the vehicles-and-charging issue).
CREATE TABLE charging_reservations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pile_id text NOT NULL CHECK (length(pile_id) BETWEEN 1 AND 64),
  station_id uuid NOT NULL REFERENCES stations (id),
  member_id uuid REFERENCES members (id),
  vehicle_id uuid REFERENCES vehicles (id),
  slot_start timestamptz NOT NULL,
  slot_end timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'charging', 'completed', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (slot_end > slot_start)
);
CREATE INDEX charging_reservations_pile ON charging_reservations (pile_id, slot_start);
