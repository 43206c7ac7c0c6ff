import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DICTIONARIES } from '../../services/web/ui/src/i18n/messages';

const UI_SRC = path.resolve(__dirname, '..', '..', 'services', 'web', 'ui', 'src');
const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]/;
const LANGUAGE_NAMES = new Set(['app.langZh']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : /\.tsx?$/.test(name) && !file.includes(`${path.sep}i18n${path.sep}`) ? [file] : [];
  });
}

describe('the UI dictionary', () => {
  const zh = DICTIONARIES.zh;
  const en = DICTIONARIES.en;

  it('has every key in both languages, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const dict of [zh, en]) for (const [key, text] of Object.entries(dict)) expect({ key, text: text.trim() }).not.toEqual({ key, text: '' });
  });

  it('uses the same parameters in both languages', () => {
    const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(zh) as Array<keyof typeof zh>) expect({ key, params: params(en[key]) }).toEqual({ key, params: params(zh[key]) });
  });

  it('has no Chinese in English strings (except the name of the Chinese language)', () => {
    for (const [key, text] of Object.entries(en)) if (!LANGUAGE_NAMES.has(key)) expect({ key, text: CJK.test(text) }).toEqual({ key, text: false });
  });

  it('is the only place with user-visible Chinese in the UI source', () => {
    for (const file of sources(UI_SRC)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      const offending = lines.filter((line) => CJK.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*'));
      expect({ file: path.relative(UI_SRC, file), offending }).toEqual({ file: path.relative(UI_SRC, file), offending: [] });
    }
  });

  it('names every key the pages use with a literal', () => {
    const used = new Set<string>();
    for (const file of sources(UI_SRC)) for (const m of readFileSync(file, 'utf8').matchAll(/\bt\('([a-zA-Z0-9_.-]+)'/g)) used.add(m[1]!);
    expect([...used].filter((key) => !Object.hasOwn(zh, key))).toEqual([]);
  });
});
