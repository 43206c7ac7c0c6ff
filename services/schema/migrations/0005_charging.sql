-- Charging piles (OCPP 1.6J central system), charging transactions, meter values, reserved
-- charging and the smart-charging plans (issue 4). Energy is integer Wh, power integer W,
-- money integer fen, times timestamptz (UTC).

-- What smart charging needs from a station: the grid connection's cap and the outside
-- temperature (null: the service's configured default).
ALTER TABLE stations ADD COLUMN IF NOT EXISTS charging_cap_w integer CHECK (charging_cap_w > 0);
ALTER TABLE stations ADD COLUMN IF NOT EXISTS ambient_c numeric(4, 1) CHECK (ambient_c BETWEEN -50 AND 60);

-- One row per charge point (OCPP chargePointId). Security profile 1/2: the pile logs in with
-- HTTP Basic, its password kept as an argon2id hash.
CREATE TABLE piles (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,48}$'),
  station_id uuid NOT NULL REFERENCES stations (id),
  password_hash text NOT NULL,
  max_power_w integer NOT NULL DEFAULT 7000 CHECK (max_power_w > 0),
  -- Operator's switch (ChangeAvailability): an inoperative pile is never planned or reserved.
  enabled boolean NOT NULL DEFAULT true,
  state text NOT NULL DEFAULT 'offline' CHECK (state IN ('available', 'occupied', 'charging', 'faulted', 'unavailable', 'offline')),
  -- The OCPP status and error code last reported, as sent.
  ocpp_status text,
  error_code text,
  vendor text,
  model text,
  firmware text,
  -- The charging instance holding the pile's WebSocket (null when offline).
  instance_id text,
  connected_at timestamptz,
  last_seen_at timestamptz,
  -- The car the pile reports parked at it (DataTransfer ParkedVehicle): the pile-car binding.
  vin text,
  vehicle_id uuid REFERENCES vehicles (id) ON DELETE SET NULL,
  bound_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX piles_station ON piles (station_id);
CREATE UNIQUE INDEX piles_one_per_vehicle ON piles (vehicle_id) WHERE vehicle_id IS NOT NULL;

-- OCPP transaction ids are integers chosen by the central system.
CREATE SEQUENCE charging_transaction_ids;
CREATE SEQUENCE charging_reservation_ocpp_ids;

CREATE TABLE charging_transactions (
  id integer PRIMARY KEY DEFAULT nextval('charging_transaction_ids'),
  pile_id text NOT NULL REFERENCES piles (id),
  connector_id integer NOT NULL CHECK (connector_id > 0),
  id_tag text NOT NULL,
  member_id uuid REFERENCES members (id),
  vehicle_id uuid REFERENCES vehicles (id) ON DELETE SET NULL,
  reservation_id uuid,
  meter_start_wh bigint NOT NULL CHECK (meter_start_wh >= 0),
  meter_stop_wh bigint,
  started_at timestamptz NOT NULL,
  stopped_at timestamptz,
  stop_reason text,
  energy_wh bigint CHECK (energy_wh >= 0),
  amount_fen bigint CHECK (amount_fen >= 0),
  -- Set once the deduction reached the DEDUCTIONS stream; a sweep republishes the rest.
  billed_at timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'completed') = (stopped_at IS NOT NULL AND meter_stop_wh IS NOT NULL))
);
ALTER SEQUENCE charging_transaction_ids OWNED BY charging_transactions.id;
CREATE UNIQUE INDEX charging_transactions_one_active ON charging_transactions (pile_id, connector_id) WHERE status = 'active';
CREATE INDEX charging_transactions_member ON charging_transactions (member_id, started_at DESC);
CREATE INDEX charging_transactions_unbilled ON charging_transactions (stopped_at) WHERE status = 'completed' AND billed_at IS NULL AND member_id IS NOT NULL;

-- The latest reading per connector, and every sample (MeterValues).
CREATE TABLE pile_connectors (
  pile_id text NOT NULL REFERENCES piles (id) ON DELETE CASCADE,
  connector_id integer NOT NULL CHECK (connector_id >= 0),
  ocpp_status text,
  energy_wh bigint,
  power_w integer,
  soc_pct numeric(5, 2),
  measured_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pile_id, connector_id)
);

CREATE TABLE meter_samples (
  id bigserial PRIMARY KEY,
  pile_id text NOT NULL REFERENCES piles (id) ON DELETE CASCADE,
  connector_id integer NOT NULL,
  transaction_id integer,
  measured_at timestamptz NOT NULL,
  energy_wh bigint,
  power_w integer,
  soc_pct numeric(5, 2)
);
CREATE INDEX meter_samples_pile ON meter_samples (pile_id, measured_at DESC);

-- Reserved charging: 'reserved' once the pile accepted ReserveNow; 'expired' when the slot ended
-- unused. The OCPP reservation id is an integer; reserve_at is when ReserveNow is due.
ALTER TABLE charging_reservations DROP CONSTRAINT IF EXISTS charging_reservations_status_check;
ALTER TABLE charging_reservations ADD CONSTRAINT charging_reservations_status_check
  CHECK (status IN ('booked', 'reserved', 'charging', 'completed', 'cancelled', 'expired', 'failed'));
ALTER TABLE charging_reservations
  ADD COLUMN IF NOT EXISTS ocpp_id integer NOT NULL UNIQUE DEFAULT nextval('charging_reservation_ocpp_ids'),
  ADD COLUMN IF NOT EXISTS connector_id integer NOT NULL DEFAULT 1 CHECK (connector_id > 0),
  ADD COLUMN IF NOT EXISTS id_tag text,
  ADD COLUMN IF NOT EXISTS reserve_sent_at timestamptz,
  ADD COLUMN IF NOT EXISTS ended_at timestamptz,
  ADD COLUMN IF NOT EXISTS failure text,
  -- Energy the booking needs by slot_end, for the planner (null: a full battery).
  ADD COLUMN IF NOT EXISTS energy_wh integer CHECK (energy_wh > 0),
  ADD COLUMN IF NOT EXISTS created_by uuid REFERENCES members (id);
CREATE INDEX charging_reservations_due ON charging_reservations (slot_start) WHERE status IN ('booked', 'reserved');

-- The schedule last sent to each pile by smart charging, for the operators' console.
CREATE TABLE charging_plans (
  pile_id text PRIMARY KEY REFERENCES piles (id) ON DELETE CASCADE,
  station_id uuid NOT NULL REFERENCES stations (id),
  planned_at timestamptz NOT NULL,
  plan jsonb NOT NULL,
  sent boolean NOT NULL DEFAULT false
);
