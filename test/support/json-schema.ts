import fc from 'fast-check';

/**
 * The part of JSON Schema 2020-12 the OpenAPI document's request schemas use (zod's output):
 * object, string, integer, number, boolean, null, enum, const, anyOf, array. Two uses for the
 * adversarial suites: values that conform (optionally hostile within the rules) and a conformance
 * check, so a suite knows whether a request it built must be refused.
 */
export type Schema = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Whether a (parsed JSON) value conforms to the schema. Conservative only where noted. */
export function conforms(schema: Schema, value: unknown): boolean {
  if (schema.anyOf) return schema.anyOf.some((s) => conforms(s, value));
  if (schema.const !== undefined && value !== schema.const) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  switch (schema.type) {
    case undefined:
      return !(JSON.stringify(value) ?? '').includes('\\u0000');
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (schema.type === 'integer' && !Number.isSafeInteger(value)) return false;
      if (schema.minimum !== undefined && value < schema.minimum) return false;
      if (schema.maximum !== undefined && value > schema.maximum) return false;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return false;
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return false;
      return true;
    }
    case 'string': {
      // The platform's rule for all text (PostgreSQL cannot store it).
      if (typeof value !== 'string' || value.includes('\u0000')) return false;
      // JSON Schema counts code points; zod counts UTF-16 units: accept what either accepts.
      const units = value.length;
      const points = [...value].length;
      if (schema.minLength !== undefined && Math.max(units, points) < schema.minLength) return false;
      if (schema.maxLength !== undefined && Math.min(units, points) > schema.maxLength) return false;
      if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) return false;
      if (schema.format === 'uuid' && !UUID.test(value)) return false;
      if (schema.format === 'date-time' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) return false;
      return true;
    }
    case 'array':
      if (!Array.isArray(value)) return false;
      if (schema.minItems !== undefined && value.length < schema.minItems) return false;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return false;
      return !schema.items || value.every((item) => conforms(schema.items!, item));
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      for (const name of schema.required ?? []) if (!Object.prototype.hasOwnProperty.call(record, name)) return false;
      for (const key of Object.keys(record)) {
        if (key.includes('\u0000')) return false;
        const property = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        if (property) {
          if (!conforms(property, record[key])) return false;
        } else if (schema.additionalProperties === false) return false;
        else if (typeof schema.additionalProperties === 'object' && !conforms(schema.additionalProperties, record[key])) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

/** Strings that stay within a string schema's length but are hard on whatever stores or shows them. */
const NASTY_STRINGS = [
  "' OR '1'='1' --",
  '"; DROP TABLE members; --',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '\u202eevil',
  'zero\u200bwidth',
  'lone \ud800 surrogate',
  '\udfff',
  '😀👍🏽‍',
  '%E0%A4%A',
  '../../etc/passwd',
  '\r\nSet-Cookie: x=1',
  'Ａｄｍｉｎ',
  '__proto__',
  'constructor',
];

function boundedString(schema: Schema, hostile: boolean): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 200, 2_000);
  const noNul = (s: string) => !s.includes('\u0000');
  const plain = fc.string({ minLength, maxLength: Math.min(maxLength, minLength + 30) }).filter(noNul);
  if (!hostile) return plain;
  const fits = NASTY_STRINGS.filter((s) => s.length >= minLength && s.length <= maxLength);
  return fc.oneof(
    plain,
    fc.string({ unit: 'binary', minLength, maxLength: Math.min(maxLength, minLength + 30) }).filter(noNul),
    ...(fits.length ? [fc.constantFrom(...fits)] : []),
    fc.constant('x'.repeat(maxLength)),
    fc.constant('界'.repeat(maxLength)),
  );
}

export interface ValueOptions {
  /** Values within the rules but at their edges: boundaries, odd characters, far dates. */
  hostile: boolean;
  /** Ids to use for uuid fields (the caller's own, other members', unknown ones). */
  ids: fc.Arbitrary<string>;
}

/** Values that conform to the schema. */
export function conformingValue(schema: Schema, options: ValueOptions): fc.Arbitrary<unknown> {
  const { hostile } = options;
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => conformingValue(s, options)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const integer = schema.type === 'integer';
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : Number.EPSILON) : -(2 ** 53 - 1));
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : Number.EPSILON) : 2 ** 53 - 1);
      const any = integer
        ? fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) })
        : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
      const wide = integer ? fc.maxSafeInteger().filter((n) => n >= min && n <= max) : any;
      return hostile ? fc.oneof(fc.constantFrom(min, max), any, wide) : any;
    }
    case 'string': {
      if (schema.format === 'uuid') return options.ids;
      if (schema.format === 'date-time') {
        const ordinary = fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
          .map((d) => d.toISOString());
        return hostile
          ? fc.oneof(ordinary, fc.constantFrom('9999-12-31T23:59:59.999Z', '0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '2038-01-19T03:14:08Z'))
          : ordinary;
      }
      if (schema.pattern) {
        const matching = fc.stringMatching(new RegExp(schema.pattern));
        const bounded = schema.maxLength === undefined ? matching : matching.filter((s) => s.length <= schema.maxLength!);
        // A date pattern lets through dates no calendar has.
        if (hostile && schema.pattern === '^\\d{4}-\\d{2}-\\d{2}$')
          return fc.oneof(bounded, fc.constantFrom('2099-02-30', '9999-12-31', '0000-00-00', '2100-13-01'));
        return bounded;
      }
      return boundedString(schema, hostile);
    }
    case 'array':
      return fc.array(schema.items ? conformingValue(schema.items, options) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      });
    case 'object': {
      const properties = schema.properties ?? {};
      const required = schema.required ?? [];
      const record = fc.record(Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, conformingValue(s, options)])), {
        requiredKeys: required,
      });
      if (schema.additionalProperties === false || schema.properties) return record;
      // A free-form object (e.g. a notification's `body`): any JSON, deep or wide.
      const deep = fc.integer({ min: 100, max: 1_500 }).map((depth) => ({ deep: JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) as unknown }));
      const free = (maxDepth: number, maxKeys: number) =>
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth }), { maxKeys }).filter((v) => !JSON.stringify(v).includes('\\u0000'));
      return hostile ? fc.oneof(free(4, 5), deep) : free(2, 3);
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}
