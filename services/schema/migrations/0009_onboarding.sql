-- Operator onboarding (issue 12): a station's ambient temperature may come from a weather feed
-- the charging service polls (the URL; ambient_c then holds the last reading), and when the
-- value was last set or read.
ALTER TABLE stations ADD COLUMN IF NOT EXISTS ambient_feed_url text CHECK (ambient_feed_url ~ '^https?://' AND length(ambient_feed_url) <= 2000);
ALTER TABLE stations ADD COLUMN IF NOT EXISTS ambient_updated_at timestamptz;
-- When a charging instance last claimed the feed for a read: one instance reads it per interval.
ALTER TABLE stations ADD COLUMN IF NOT EXISTS ambient_polled_at timestamptz;
