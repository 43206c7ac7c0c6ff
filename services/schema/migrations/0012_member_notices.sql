-- Member notices (docs/push.md, "Member notices").

-- The member's own choices of the optional SMS, by notice kind ({"low-balance": false, ...}); a
-- kind not in it, or a member with no row, has the default of the notice policy
-- (kit/src/notices/policy.ts), so a changed default reaches everyone who never chose.
CREATE TABLE member_sms_preferences (
  member_id uuid PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  choices jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(choices) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- When the member was told their reservation is about to expire: the APP instance that sets it
-- sends the notice, so it goes once however many instances sweep.
ALTER TABLE reservations ADD COLUMN expiring_noticed_at timestamptz;
CREATE INDEX reservations_expiring_unnoticed ON reservations (expires_at) WHERE status = 'active' AND expiring_noticed_at IS NULL;

-- When the member was told the car's battery is low during this rental: once per trip.
ALTER TABLE rentals ADD COLUMN low_battery_noticed_at timestamptz;
