-- Damage and cleanliness reports (docs/rental.md, "Damage and cleanliness reports"): the renting
-- member reports at the start of a rental or at its return; operators open a repair or cleaning
-- task on the report and may charge the responsible member once, under the report's reference.
CREATE TABLE damage_reports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  rental_id uuid NOT NULL REFERENCES rentals (id),
  member_id uuid NOT NULL REFERENCES members (id),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id),
  -- start: found before driving off (the previous renter is answerable); return: at the end of the trip.
  phase text NOT NULL CHECK (phase IN ('start', 'return')),
  kind text NOT NULL CHECK (kind IN ('damage', 'dirt')),
  note text NOT NULL CHECK (length(note) BETWEEN 1 AND 1000),
  location text,
  responsible_member_id uuid REFERENCES members (id),
  task_kind text CHECK (task_kind IN ('repair', 'cleaning')),
  task_state text CHECK (task_state IN ('open', 'done')),
  task_note text,
  task_updated_by uuid REFERENCES members (id),
  task_updated_at timestamptz,
  CHECK ((task_kind IS NULL) = (task_state IS NULL)),
  charge_reference text UNIQUE,
  charged_member_id uuid REFERENCES members (id),
  charged_fen bigint CHECK (charged_fen > 0),
  charge_note text,
  charged_by uuid REFERENCES members (id),
  charged_at timestamptz,
  CHECK ((charge_reference IS NULL) = (charged_at IS NULL)),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX damage_reports_rental ON damage_reports (rental_id);
CREATE INDEX damage_reports_vehicle ON damage_reports (vehicle_id, created_at DESC);
CREATE INDEX damage_reports_created ON damage_reports (created_at DESC);

-- The PostgreSQL blob store (BLOB_STORE=postgres, the default); an S3-compatible store keeps
-- the same keys instead.
CREATE TABLE blobs (
  key text PRIMARY KEY,
  content_type text NOT NULL,
  size_bytes integer NOT NULL CHECK (size_bytes >= 0),
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE damage_report_photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  report_id uuid NOT NULL REFERENCES damage_reports (id),
  blob_key text NOT NULL UNIQUE,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  size_bytes integer NOT NULL CHECK (size_bytes > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX damage_report_photos_report ON damage_report_photos (report_id, created_at);
