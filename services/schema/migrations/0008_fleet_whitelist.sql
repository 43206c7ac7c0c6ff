-- The fleet list (claim 7: registration writes the member into the cars): every member eligible
-- to rent, with their cards, on every car's terminal. One list for the whole fleet, versioned
-- once: a member's change is one delta for every car (docs/vehicles.md, "The fleet list").
CREATE TABLE fleet_whitelist (
  member_id uuid PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
  card_uids text[] NOT NULL DEFAULT '{}',
  -- The list version that last added or changed this entry.
  version bigint NOT NULL CHECK (version > 0),
  -- On the list without a break since then (a removal deletes the row): a trip a car recorded for
  -- a walk-up member is theirs to pay if they were listed when it started.
  listed_at timestamptz NOT NULL DEFAULT now()
);

-- The list's version: one row. Written with the entries in one transaction, guarded by the
-- version read, so two writers cannot both move it from the same version.
CREATE TABLE fleet_whitelist_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO fleet_whitelist_version (singleton, version) VALUES (true, 0);

-- Whatever code path changes a member's eligibility or cards, telematics hears of it:
-- pg_notify('member_access', <member id>) or '*' (every member: the deposit a plan asks for).
CREATE FUNCTION member_access_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('member_access', NEW.id::text);
  RETURN NULL;
END $$;

CREATE TRIGGER members_member_access_added AFTER INSERT ON members
  FOR EACH ROW EXECUTE FUNCTION member_access_notify();
-- A balance change matters only when it crosses zero (debt), not on every ledger entry.
CREATE TRIGGER members_member_access AFTER UPDATE ON members
  FOR EACH ROW WHEN (
    OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role
    OR OLD.licence_status IS DISTINCT FROM NEW.licence_status OR OLD.licence_expires_on IS DISTINCT FROM NEW.licence_expires_on
    OR OLD.deposit_fen IS DISTINCT FROM NEW.deposit_fen OR OLD.debt_fen IS DISTINCT FROM NEW.debt_fen
    OR (OLD.wallet_balance_fen < 0) IS DISTINCT FROM (NEW.wallet_balance_fen < 0))
  EXECUTE FUNCTION member_access_notify();

CREATE FUNCTION member_access_notify_card() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' AND NEW.member_id IS NOT NULL THEN PERFORM pg_notify('member_access', NEW.member_id::text); END IF;
  IF TG_OP <> 'INSERT' AND OLD.member_id IS NOT NULL THEN PERFORM pg_notify('member_access', OLD.member_id::text); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER membership_cards_member_access AFTER INSERT OR DELETE OR UPDATE OF member_id, uid ON membership_cards
  FOR EACH ROW EXECUTE FUNCTION member_access_notify_card();

CREATE FUNCTION member_access_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('member_access', '*');
  RETURN NULL;
END $$;

-- The deposit asked for is the plan's: a new plan, or one whose validity moved, may change who is listed.
CREATE TRIGGER pricing_plans_member_access AFTER INSERT OR UPDATE OR DELETE ON pricing_plans
  FOR EACH STATEMENT EXECUTE FUNCTION member_access_notify_all();
