import { op } from '../operation';
import { codeBody, codeSent, deregisterBody, loginBody, passwordBody, registerBody, session } from '../schemas/auth';

const setCookie = { 'Set-Cookie': { description: 'The session key as the `evs_session` cookie (HttpOnly, SameSite=Lax)' } };

/** The auth service's operations. */
export const authOperations = {
  login: op({
    method: 'post',
    path: '/api/v1/auth/login',
    tags: ['auth'],
    summary: 'Log in with phone or username and password',
    description: 'A session key sent with the request is ended, never reused. Failed logins are counted per account and per address.',
    access: 'public',
    body: loginBody,
    responses: { 200: { description: 'A new session', schema: session, headers: setCookie } },
    problems: {
      401: 'Wrong account or password (`bad-credentials`)',
      403: 'The account is not active (`forbidden`)',
      429: 'Too many failed logins (`too-many-requests`, `Retry-After`)',
    },
  }),
  logout: op({
    method: 'post',
    path: '/api/v1/auth/logout',
    tags: ['auth'],
    summary: 'End the current session',
    access: 'member',
    responses: { 204: { description: 'Ended; the cookie is cleared' } },
  }),
  session: op({
    method: 'get',
    path: '/api/v1/auth/session',
    tags: ['auth'],
    summary: 'The current session',
    access: 'member',
    responses: { 200: { description: 'The session', schema: session } },
  }),
  password: op({
    method: 'post',
    path: '/api/v1/auth/password',
    tags: ['auth'],
    summary: 'Change the password',
    description: 'Every session of the member ends, this one included; the answer carries the new session. `newPassword` must differ from `currentPassword`.',
    access: 'member',
    body: passwordBody,
    responses: { 200: { description: 'The new session', schema: session, headers: setCookie } },
    problems: { 429: 'Too many wrong passwords (`too-many-requests`)' },
  }),
  registerCode: op({
    method: 'post',
    path: '/api/v1/auth/register/code',
    tags: ['auth'],
    summary: 'Send a registration code by SMS',
    description:
      'Sent whether or not the phone is registered. One code a minute and ten a day per phone; ten an hour per client address (IPv6: per /64) and a global budget per minute (SMS pumping).',
    access: 'public',
    body: codeBody,
    responses: { 202: { description: 'The code is on its way', schema: codeSent } },
    problems: {
      429: 'A code was sent too recently, too many today, too many from this address, or the global budget is spent (`too-many-requests`, `Retry-After`)',
    },
  }),
  register: op({
    method: 'post',
    path: '/api/v1/auth/register',
    tags: ['auth'],
    summary: 'Register with the SMS code',
    access: 'public',
    body: registerBody,
    responses: { 201: { description: 'Registered and logged in', schema: session, headers: setCookie } },
    problems: {
      400: 'Invalid input (`validation`), a wrong code (`verification-code-wrong`, with `attemptsLeft`) or no valid code (`verification-code-expired`)',
      409: 'The phone is registered (`account-exists`)',
    },
  }),
  deregister: op({
    method: 'post',
    path: '/api/v1/auth/deregister',
    tags: ['auth'],
    summary: 'Close the account',
    description: 'The deposit and balance are paid out, personal data removed, every session ended; the ledger is kept.',
    access: 'member',
    body: deregisterBody,
    responses: { 204: { description: 'Deregistered' } },
    problems: {
      403: 'Operator accounts cannot deregister (`forbidden`)',
      409: '`debt-outstanding`, `rental-open` or `reservation-open`',
      429: 'Too many wrong passwords (`too-many-requests`)',
    },
  }),
};
