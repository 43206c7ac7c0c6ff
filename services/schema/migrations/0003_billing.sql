-- Wallet, ledger, top-ups, licence verification, deregistration and the SMS log (issue 3).
-- The first three member columns are also declared by the rental migration (0002); both use
-- IF NOT EXISTS so they agree whichever lands first.
ALTER TABLE members
  ADD COLUMN IF NOT EXISTS wallet_balance_fen bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS deposit_fen bigint NOT NULL DEFAULT 0 CHECK (deposit_fen >= 0),
  ADD COLUMN IF NOT EXISTS licence_status text NOT NULL DEFAULT 'unverified'
    CHECK (licence_status IN ('unverified', 'pending', 'approved', 'rejected')),
  -- What the member owes: always greatest(0, -wallet_balance_fen), kept beside the balance so
  -- the rent check and the operators' debt list read it without arithmetic.
  ADD COLUMN IF NOT EXISTS debt_fen bigint NOT NULL DEFAULT 0 CHECK (debt_fen >= 0),
  ADD COLUMN IF NOT EXISTS licence_number text,
  ADD COLUMN IF NOT EXISTS licence_expires_on date,
  ADD COLUMN IF NOT EXISTS licence_submitted_at timestamptz,
  ADD COLUMN IF NOT EXISTS licence_reviewed_by uuid REFERENCES members (id),
  ADD COLUMN IF NOT EXISTS licence_reviewed_at timestamptz,
  ADD COLUMN IF NOT EXISTS licence_reject_reason text,
  ADD COLUMN IF NOT EXISTS locale text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
  ADD COLUMN IF NOT EXISTS suspended_reason text,
  ADD COLUMN IF NOT EXISTS deregistered_at timestamptz;

-- A deregistered member keeps its row (the ledger refers to it) but loses phone and username.
ALTER TABLE members DROP CONSTRAINT IF EXISTS members_check;
ALTER TABLE members ADD CONSTRAINT members_account_present
  CHECK (phone IS NOT NULL OR username IS NOT NULL OR status = 'deregistered');

-- Every change of a member's wallet balance, append-only. The unique reference makes applying
-- the same deduction, top-up or payout twice impossible.
CREATE TABLE ledger (
  id bigserial PRIMARY KEY,
  member_id uuid NOT NULL REFERENCES members (id),
  reference text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind ~ '^[a-z][a-z-]{1,39}$'),
  -- Signed: negative charges the member, positive credits.
  amount_fen bigint NOT NULL,
  balance_after_fen bigint NOT NULL,
  debt_after_fen bigint NOT NULL CHECK (debt_after_fen >= 0),
  description text NOT NULL DEFAULT '',
  rental_id uuid,
  requested_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_member ON ledger (member_id, id DESC);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Top-ups through a payment provider. The idempotency key is the member's (one payment per key);
-- the provider's reference is unique per provider (one credit per provider payment).
CREATE TABLE payments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  member_id uuid NOT NULL REFERENCES members (id),
  provider text NOT NULL,
  provider_ref text,
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  idempotency_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  UNIQUE (member_id, idempotency_key),
  UNIQUE (provider, provider_ref)
);

-- Every SMS the SMS service handled: the development provider's outbox and the delivery log.
CREATE TABLE sms_log (
  id bigserial PRIMARY KEY,
  reference text NOT NULL UNIQUE,
  member_id uuid REFERENCES members (id),
  phone text NOT NULL,
  template text NOT NULL,
  locale text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'dead', 'limited')),
  attempts integer NOT NULL DEFAULT 0,
  provider text NOT NULL,
  provider_id text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX sms_log_phone ON sms_log (phone, id DESC);
