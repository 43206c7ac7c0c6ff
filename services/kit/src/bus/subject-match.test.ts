import { isValidPattern, isValidSubject, subjectMatches, subjectsOverlap } from './subject-match';

describe('subjectMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b.d', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c.d', false],
    ['a.*.c', 'a.c', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a', false],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*.*', 'a.b', true],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['a.>', 'a', false],
    ['>', 'a', true],
    ['>', 'a.b.c', true],
    ['a.*.>', 'a.b.c', true],
    ['a.*.>', 'a.b', false],
    ['app.load.*', 'app.load.i-1', true],
    ['deduction.>', 'deduction.created.m1', true],
    ['deduction.>', 'deductions.created', false],
    // invalid patterns or subjects never match
    ['a.>.c', 'a.b.c', false],
    ['a.b*', 'a.b*', false],
    ['a..b', 'a..b', false],
    ['a.*', 'a.*', false],
    ['', '', false],
    ['a b', 'a b', false],
  ])('%j matches %j: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('subjectsOverlap', () => {
  it.each([
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['a.*', 'a.b', true],
    ['a.*', '*.b', true],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.>', '*.x', true],
    ['>', 'x', true],
    ['deduction.>', 'sms.>', false],
    ['deduction.>', 'deduction.created', true],
    ['a.*.c', 'a.b.>', true],
    ['a.b.c', 'a.b', false],
    ['a..b', 'a..b', false],
  ])('%j and %j overlap: %s', (a, b, expected) => {
    expect(subjectsOverlap(a, b)).toBe(expected);
    expect(subjectsOverlap(b, a)).toBe(expected);
  });
});

describe('validity', () => {
  it.each([
    ['a', true, true],
    ['a.b.c', true, true],
    ['a.*', false, true],
    ['a.>', false, true],
    ['>.a', false, false],
    ['a.', false, false],
    ['.a', false, false],
    ['a.b>', false, false],
    ['a\tb', false, false],
  ])('%j: subject %s, pattern %s', (text, subject, pattern) => {
    expect(isValidSubject(text)).toBe(subject);
    expect(isValidPattern(text)).toBe(pattern);
  });
});
