/**
 * Every bus subject is written once, in services/kit/src/bus (contracts/<domain>.ts, SUBJECTS):
 * this scans the sources and refuses a string that spells one of those subjects elsewhere, and a
 * publish or subscribe whose subject is written out in place, so a typo cannot split a
 * conversation and a renamed subject cannot leave a subscriber behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { deductionKinds, deductionSubject, receiptSubject, smsSubject, smsTemplates, SUBJECTS } from '@evshare/kit';
import { subjectsOverlap } from '../../services/kit/src/bus/subject-match';

const ROOT = path.resolve(__dirname, '../..');
const SCANNED = ['services', 'operator', 'sims', 'test'];
const SKIPPED = new Set(['node_modules', 'dist', path.join('services', 'kit', 'src', 'bus'), path.join('services', 'web', 'ui')]);
const BUS_CALLS = new Set(['publish', 'subscribe', 'publishDurable', 'consume']);

/** Every subject the contracts declare, builders' variable tokens as `*`. */
const declared = [
  ...Object.values(SUBJECTS).map((s) => (typeof s === 'string' ? s : s('*'))),
  ...deductionKinds.map(deductionSubject),
  ...smsTemplates.map(smsSubject),
  receiptSubject,
];

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (SKIPPED.has(entry.name) || SKIPPED.has(relative)) return [];
    if (entry.isDirectory()) return sources(relative);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });
}

/** The text of a string or template literal, each `${…}` as a `*` token (undefined for anything else). */
function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((span) => `\u0000${span.literal.text}`)].join('');
  return undefined;
}

/**
 * As a subject pattern: a token holding a substitution stands for any token. Undefined unless it
 * reads like one of our subjects: two tokens or more of subject characters, the first written out.
 */
function asPattern(text: string): string | undefined {
  const tokens = text.split('.').map((token) => (token.includes('\u0000') ? '*' : token));
  if (tokens.length < 2 || !tokens.every((token) => /^([A-Za-z0-9_-]+|\*|>)$/.test(token)) || !/^[a-z]/.test(tokens[0]!)) return undefined;
  return tokens.join('.');
}

/** NATS's own subjects (the JetStream API, inboxes): not ours to declare. */
const systemSubject = (text: string) => text.startsWith('$') || text.startsWith('_INBOX');

interface Finding {
  file: string;
  line: number;
  text: string;
  why: string;
}

function scan(file: string, text: string): Finding[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: Finding[] = [];
  const report = (node: ts.Node, literal: string, why: string) =>
    found.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, text: literal, why });
  const visit = (node: ts.Node) => {
    const literal = literalText(node);
    if (literal !== undefined) {
      const pattern = asPattern(literal);
      const subject = pattern === undefined ? undefined : declared.find((d) => subjectsOverlap(d, pattern));
      if (subject) report(node, literal, `spells ${subject}`);
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && BUS_CALLS.has(node.expression.name.text) && node.arguments[0]) {
      const first = literalText(node.arguments[0]);
      if (first !== undefined && !first.startsWith('\u0000') && !systemSubject(first))
        report(node.arguments[0], first, `literal subject of ${node.expression.name.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('bus contracts', () => {
  it('no source outside kit/bus writes a bus subject out', () => {
    const files = SCANNED.flatMap(sources);
    expect(files.length).toBeGreaterThan(100);
    const findings = files.flatMap((file) => scan(file, readFileSync(path.join(ROOT, file), 'utf8')));
    expect(findings.map((f) => `${f.file}:${f.line} ${JSON.stringify(f.text.replaceAll('\u0000', '${…}'))} (${f.why})`)).toEqual([]);
  });

  it.each([
    ["bus.subscribe('vehicle.*.ack', handler)", 'spells vehicle.*.ack'],
    ['bus.publish(`vehicle.${vin}.command`, command)', 'spells vehicle.*.command'],
    ["const s = 'deduction.refund'", 'spells deduction.refund'],
    ["bus.publish('audit.trail', {})", 'literal subject of publish'],
    ['bus.subscribe(`charging.pile.${id}.connected`, handler)', 'spells charging.pile.*.connected'],
  ])('refuses %s', (code, why) => {
    expect(scan('scratch.ts', code).map((f) => f.why)).toContain(why);
  });

  it.each([
    'bus.subscribe(SUBJECTS.vehicleAckAll, handler)',
    'const kind = `vehicle.${alert.kind}`',
    "const group = 'events.k8s.io'",
    "nc.subscribe('_INBOX.>')",
    "// publishes on 'vehicle.<vin>.ack'",
  ])('accepts %s', (code) => {
    expect(scan('scratch.ts', code)).toEqual([]);
  });
});
