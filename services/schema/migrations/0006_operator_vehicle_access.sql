-- Operators' access to cars: no longer every admin on every car's list (one stolen terminal
-- revealed every operator's id and card UIDs), but one time-limited grant per operator and car,
-- asked for through the admin API. The rows stay as the record of who could open which car when.
CREATE TABLE vehicle_operator_access (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
  member_id uuid NOT NULL REFERENCES members (id),
  granted_at timestamptz NOT NULL DEFAULT now(),
  valid_until timestamptz NOT NULL,
  CHECK (valid_until >= granted_at)
);
CREATE INDEX vehicle_operator_access_vehicle ON vehicle_operator_access (vehicle_id, valid_until);
CREATE INDEX vehicle_operator_access_member ON vehicle_operator_access (member_id, valid_until);
CREATE INDEX vehicle_operator_access_valid_until ON vehicle_operator_access (valid_until);

CREATE TRIGGER vehicle_operator_access_notify AFTER INSERT OR DELETE OR UPDATE OF valid_until, vehicle_id ON vehicle_operator_access
  FOR EACH ROW EXECUTE FUNCTION vehicle_access_notify_hold();

-- A member's cards or standing changed: the cars the member is on, holds, or has a live grant on.
CREATE OR REPLACE FUNCTION vehicle_access_notify_member(member uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  car uuid;
BEGIN
  IF member IS NULL THEN RETURN; END IF;
  FOR car IN
    SELECT vehicle_id FROM reservations WHERE member_id = member AND status = 'active'
    UNION SELECT vehicle_id FROM rentals WHERE member_id = member AND status IN ('unlocking', 'active')
    UNION SELECT vehicle_id FROM vehicle_operator_access WHERE member_id = member AND valid_until > now()
    UNION SELECT v.id FROM vehicle_whitelists w JOIN vehicles v ON v.vin = w.vin
           WHERE w.entries @> jsonb_build_array(jsonb_build_object('memberId', member::text))
  LOOP
    PERFORM pg_notify('vehicle_access', car::text);
  END LOOP;
END $$;

-- A role change concerns only the cars the member is on or has a grant on now.
CREATE OR REPLACE FUNCTION vehicle_access_notify_standing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM vehicle_access_notify_member(NEW.id);
  RETURN NULL;
END $$;

DROP TRIGGER members_staff_added ON members;
