import { REQUIRED_SMS, smsPreferences, type Pool, type SmsPreferences } from '@evshare/kit';
import type { SmsSettings } from '@evshare/api/schemas';

/**
 * The member's SMS choices as the API shows them: each optional SMS, and those that always go.
 * The API's schema and the kit's policy must name the same kinds: reading gives the policy's
 * choices as the API's, writing the API's as the policy's, so a kind missing on either side
 * fails to compile.
 */
export async function readSmsSettings(db: Pool, memberId: string): Promise<SmsSettings> {
  const { rows } = await db.query<{ choices: unknown }>('SELECT choices FROM member_sms_preferences WHERE member_id = $1', [memberId]);
  return { choices: smsPreferences(rows[0]?.choices), alwaysSent: [...REQUIRED_SMS] };
}

/** Stores every choice, replacing the member's earlier ones. */
export async function writeSmsPreferences(db: Pool, memberId: string, choices: SmsPreferences): Promise<SmsSettings> {
  await db.query(
    `INSERT INTO member_sms_preferences (member_id, choices) VALUES ($1, $2)
     ON CONFLICT (member_id) DO UPDATE SET choices = EXCLUDED.choices, updated_at = now()`,
    [memberId, JSON.stringify(choices)],
  );
  return readSmsSettings(db, memberId);
}
