-- The vehicle link (claim 7): what the cars' terminals report, their MQTT credentials, the
-- versioned lists of who may unlock each car, and the trips the cars record on their own.

-- The car's live state as the telematics service last saw it (the rest is in 0002).
ALTER TABLE vehicles ADD COLUMN online boolean NOT NULL DEFAULT false;
ALTER TABLE vehicles ADD COLUMN last_seen_at timestamptz;
ALTER TABLE vehicles ADD COLUMN speed_kmh real CHECK (speed_kmh >= 0);
ALTER TABLE vehicles ADD COLUMN ignition boolean;
ALTER TABLE vehicles ADD COLUMN cable_connected boolean;
ALTER TABLE vehicles ADD COLUMN doors_open boolean NOT NULL DEFAULT false;

-- One terminal credential per car: MQTT username = VIN, password = a 256-bit random secret of
-- which only the SHA-256 is kept (a random secret needs no slow hash).
CREATE TABLE vehicle_credentials (
  vin text PRIMARY KEY REFERENCES vehicles (vin) ON DELETE CASCADE,
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The list of members (and their cards) allowed to unlock the car; version grows by one per change.
CREATE TABLE vehicle_whitelists (
  vin text PRIMARY KEY REFERENCES vehicles (vin) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  entries jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicle_whitelists_entries ON vehicle_whitelists USING gin (entries jsonb_path_ops);

-- Trips the car recorded (offline unlocks included). The trip id, chosen by the car, makes an
-- upload received twice a no-op; rental_id is the rental that bills it.
CREATE TABLE vehicle_trips (
  trip_id uuid PRIMARY KEY,
  vin text NOT NULL,
  member_id uuid NOT NULL,
  card_uid text,
  started_at timestamptz NOT NULL,
  ended_at timestamptz NOT NULL,
  start_odometer_m bigint NOT NULL,
  end_odometer_m bigint NOT NULL,
  rental_id uuid REFERENCES rentals (id),
  outcome text NOT NULL CHECK (outcome IN ('billed', 'online-rental', 'free', 'unbillable')),
  record jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ended_at >= started_at)
);
CREATE INDEX vehicle_trips_vin ON vehicle_trips (vin, started_at DESC);

-- Whatever code path changes who may unlock a car, the telematics service hears of it:
-- pg_notify('vehicle_access', <vehicle id>) or '*' (every car: the staff changed). Delivered at
-- commit, once per distinct payload per transaction.
CREATE FUNCTION vehicle_access_notify_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('vehicle_access', NEW.vehicle_id::text); END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.vehicle_id IS DISTINCT FROM NEW.vehicle_id) THEN
    PERFORM pg_notify('vehicle_access', OLD.vehicle_id::text);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER reservations_vehicle_access AFTER INSERT OR DELETE OR UPDATE OF status, vehicle_id ON reservations
  FOR EACH ROW EXECUTE FUNCTION vehicle_access_notify_hold();
CREATE TRIGGER rentals_vehicle_access AFTER INSERT OR DELETE OR UPDATE OF status, vehicle_id ON rentals
  FOR EACH ROW EXECUTE FUNCTION vehicle_access_notify_hold();

-- A member's cards or standing changed: every car the member is on, or should be on, is recomputed.
CREATE FUNCTION vehicle_access_notify_member(member uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  car uuid;
BEGIN
  IF member IS NULL THEN RETURN; END IF;
  IF EXISTS (SELECT 1 FROM members WHERE id = member AND role = 'admin') THEN
    PERFORM pg_notify('vehicle_access', '*');
    RETURN;
  END IF;
  FOR car IN
    SELECT vehicle_id FROM reservations WHERE member_id = member AND status = 'active'
    UNION SELECT vehicle_id FROM rentals WHERE member_id = member AND status IN ('unlocking', 'active')
    UNION SELECT v.id FROM vehicle_whitelists w JOIN vehicles v ON v.vin = w.vin
           WHERE w.entries @> jsonb_build_array(jsonb_build_object('memberId', member::text))
  LOOP
    PERFORM pg_notify('vehicle_access', car::text);
  END LOOP;
END $$;

CREATE FUNCTION vehicle_access_notify_card() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN PERFORM vehicle_access_notify_member(NEW.member_id); END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.member_id IS DISTINCT FROM NEW.member_id) THEN
    PERFORM vehicle_access_notify_member(OLD.member_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER membership_cards_vehicle_access AFTER INSERT OR DELETE OR UPDATE OF member_id ON membership_cards
  FOR EACH ROW EXECUTE FUNCTION vehicle_access_notify_card();

CREATE FUNCTION vehicle_access_notify_standing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A role change either way concerns every car (staff are on all of them).
  IF OLD.role = 'admin' OR NEW.role = 'admin' THEN
    PERFORM pg_notify('vehicle_access', '*');
  ELSE
    PERFORM vehicle_access_notify_member(NEW.id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER members_vehicle_access AFTER UPDATE OF status, role ON members
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role)
  EXECUTE FUNCTION vehicle_access_notify_standing();
-- New staff are on every car at once.
CREATE TRIGGER members_staff_added AFTER INSERT ON members
  FOR EACH ROW WHEN (NEW.role = 'admin') EXECUTE FUNCTION vehicle_access_notify_standing();
