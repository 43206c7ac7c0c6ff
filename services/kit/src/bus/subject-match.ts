/**
 * NATS subject rules for the in-process bus, so the embedded default routes exactly like the
 * broker: tokens are separated by `.`, `*` matches one token, `>` (last token only) matches one
 * or more trailing tokens.
 */

function isValidTokens(tokens: string[], allowWildcards: boolean): boolean {
  return tokens.every((token, index) => {
    if (token === '' || /\s/.test(token)) return false;
    if (token === '>') return allowWildcards && index === tokens.length - 1;
    if (token === '*') return allowWildcards;
    return !token.includes('*') && !token.includes('>');
  });
}

/** A subject one can publish to: no wildcards, no empty tokens, no whitespace. */
export function isValidSubject(subject: string): boolean {
  return isValidTokens(subject.split('.'), false);
}

/** A subject one can subscribe to: wildcards allowed as whole tokens, `>` only last. */
export function isValidPattern(pattern: string): boolean {
  return isValidTokens(pattern.split('.'), true);
}

/** Whether a concrete subject matches a (possibly wildcarded) pattern. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (!isValidPattern(pattern) || !isValidSubject(subject)) return false;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * Whether some subject matches both patterns. JetStream refuses streams whose subjects overlap
 * and consumer filters outside their stream's subjects; the in-process bus checks the same.
 */
export function subjectsOverlap(a: string, b: string): boolean {
  if (!isValidPattern(a) || !isValidPattern(b)) return false;
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const tx = x[i];
    const ty = y[i];
    // `>` needs at least one token on the other side, which any present token satisfies.
    if (tx === '>') return ty !== undefined;
    if (ty === '>') return tx !== undefined;
    if (tx === undefined || ty === undefined) return false;
    if (tx !== '*' && ty !== '*' && tx !== ty) return false;
  }
  return true;
}
