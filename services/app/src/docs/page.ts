import { createHash } from 'node:crypto';
import type { JsonSchema } from '@evshare/kit';

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: JsonSchema;
}
interface OperationObject {
  tags: string[];
  summary: string;
  description?: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description?: string; $ref?: string; content?: Record<string, { schema: JsonSchema }> }>;
}
interface Document {
  info: { title: string; description: string };
  components: { schemas: Record<string, JsonSchema> };
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, OperationObject>>;
}

const anchor = (tag: string) => tag.replace(/[^a-z0-9]+/gi, '-');
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** `code` spans, the only markdown the descriptions use. */
const prose = (text: string) => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');
/** A schema keyword's value as text (`type` may be a list in OpenAPI 3.1). */
const text = (value: unknown): string => (typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : JSON.stringify(value));

/** One line for a schema: its type and every constraint a caller must meet. */
function describe(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').at(-1)!;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(describe).join(' | ');
  const parts: string[] = [];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const required = (schema.required as string[] | undefined) ?? [];
  if (properties && Object.keys(properties).length) {
    return `{${Object.entries(properties)
      .map(([name, property]) => `${name}${required.includes(name) ? '' : '?'}: ${describe(property)}`)
      .join(', ')}}`;
  }
  if (schema.type === 'array' && schema.items) parts.push(`array of ${describe(schema.items as JsonSchema)}`);
  else if (schema.type !== undefined) parts.push(text(schema.type));
  if (schema.format) parts.push(`(${text(schema.format)})`);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  if (schema.const !== undefined) parts.push(`= ${JSON.stringify(schema.const)}`);
  const bounds: Array<[string, string]> = [
    ['minimum', '≥'],
    ['exclusiveMinimum', '>'],
    ['maximum', '≤'],
    ['exclusiveMaximum', '<'],
    ['minLength', 'length ≥'],
    ['maxLength', 'length ≤'],
  ];
  for (const [key, sign] of bounds) if (typeof schema[key] === 'number' && schema[key] !== Number.MAX_SAFE_INTEGER) parts.push(`${sign} ${schema[key]}`);
  if (schema.pattern) parts.push(`pattern ${text(schema.pattern)}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(' ') || 'any';
}

function rows(cells: string[][]): string {
  return cells.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('');
}

function operationHtml(method: string, path: string, op: OperationObject): string {
  const access = op.security?.length === 0 ? 'no session' : op.tags[0]?.startsWith('admin') ? 'operator session' : 'session';
  const out = [
    `<details id="${escape(method + path)}"><summary><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code> ${prose(op.summary)}</summary>`,
  ];
  out.push(`<p class="access">Needs: ${access}</p>`);
  if (op.description) out.push(`<p>${prose(op.description)}</p>`);
  if (op.parameters?.length) {
    out.push('<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th></th></tr>');
    out.push(
      rows(
        op.parameters.map((p) => [`<code>${escape(p.name)}</code>`, p.in, p.required ? 'yes' : 'no', escape(describe(p.schema)), prose(p.description ?? '')]),
      ),
    );
    out.push('</table>');
  }
  const body = op.requestBody?.content['application/json']?.schema as
    { properties?: Record<string, JsonSchema>; required?: string[]; additionalProperties?: boolean } | undefined;
  if (body?.properties) {
    out.push(
      `<h4>Body (JSON${body.additionalProperties === false ? ', no other fields' : ''})</h4><table><tr><th>field</th><th>required</th><th>schema</th></tr>`,
    );
    out.push(
      rows(
        Object.entries(body.properties).map(([name, schema]) => [
          `<code>${escape(name)}</code>`,
          body.required?.includes(name) ? 'yes' : 'no',
          escape(describe(schema)),
        ]),
      ),
    );
    out.push('</table>');
  }
  out.push('<h4>Responses</h4><table>');
  out.push(
    rows(
      Object.entries(op.responses).map(([status, response]) => {
        const content = Object.entries(response.content ?? {})[0];
        const schema = content ? `${escape(content[0])}: ${escape(describe(content[1].schema))}` : '';
        return [status, prose(response.description ?? 'any other error (Problem)'), schema];
      }),
    ),
  );
  out.push('</table></details>');
  return out.join('');
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}details{border:1px solid #ddd;border-radius:4px;margin:.3rem 0;padding:.3rem .6rem}
summary{cursor:pointer}table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #e3e3e3;padding:.15rem .5rem;text-align:left;vertical-align:top;font-size:14px}
.m{display:inline-block;min-width:4.2em;font:bold 12px monospace;color:#fff;border-radius:3px;padding:.1em .3em;text-align:center}
.get{background:#2b7bb9}.post{background:#2f9e44}.put{background:#c77c02}.patch{background:#8a5cd0}.delete{background:#c92a2a}.access{color:#666;margin:.2rem 0}h4{margin:.6rem 0 .2rem}`;

/** The page's Content-Security-Policy: nothing but this page's own style block. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'`;

/** A self-contained page (no script, no external assets) listing every operation by tag. */
export function renderPage(document: Record<string, unknown>): string {
  const doc = document as unknown as Document;
  const sections = doc.tags.map((tag) => {
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op.tags[0] === tag.name)
        .map(([method, op]) => operationHtml(method, path, op)),
    );
    return `<section><h2 id="${anchor(tag.name)}">${escape(tag.name)}</h2><p>${prose(tag.description)}</p>${ops.join('\n')}</section>`;
  });
  const schemas = Object.entries(doc.components.schemas).map(([name, schema]) => {
    const properties = Object.entries((schema.properties as Record<string, JsonSchema> | undefined) ?? {});
    const required = (schema.required as string[] | undefined) ?? [];
    const table = rows(
      properties.map(([field, property]) => [
        `<code>${escape(field)}</code>`,
        required.includes(field) ? 'yes' : 'no',
        escape(describe(property)),
        prose(text(property.description ?? '')),
      ]),
    );
    return `<h3 id="schema-${anchor(name)}">${escape(name)}</h3>${schema.description ? `<p>${prose(text(schema.description))}</p>` : ''}<table><tr><th>field</th><th>always</th><th>schema</th><th></th></tr>${table}</table>`;
  });
  const toc = doc.tags.map((tag) => `<a href="#${anchor(tag.name)}">${escape(tag.name)}</a>`).join(' · ');
  const intro = doc.info.description
    .split('\n\n')
    .map((p) => `<p>${prose(p)}</p>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(doc.info.title)}</title><style>${STYLE}</style></head><body>
<h1>${escape(doc.info.title)}</h1>${intro}<p>Machine-readable: <a href="/api/docs/openapi.json">openapi.json</a> (OpenAPI 3.1). Click an operation to open it.</p>
<nav>${toc} · <a href="#schemas">schemas</a></nav>${sections.join('\n')}
<section><h2 id="schemas">schemas</h2><p>The bodies the operations answer with, by name.</p>${schemas.join('\n')}</section></body></html>`;
}
