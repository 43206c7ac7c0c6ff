import { PASSWORD_RULES as KIT_RULES } from '@evshare/kit';
import { PASSWORD_RULES, newMemberBody } from './members';

describe('the member schemas', () => {
  it('state the password rules the kit hashes by', () => {
    expect(PASSWORD_RULES).toEqual(KIT_RULES);
  });

  it.each([
    [{ displayName: 'A', password: 'x'.repeat(8) }, ['phone']],
    [{ phone: '+8613800000000', displayName: ' ', password: 'short' }, ['displayName', 'password']],
    [{ username: 'ab', displayName: 'A', password: 'x'.repeat(8), role: 'root' }, ['role', 'username']],
  ])('name every wrong field of a new member %j', (body, fields) => {
    const result = newMemberBody.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join('.')).sort()).toEqual(fields);
  });
});
