/** Renders the configuration reference (docs/configuration.md) from the schema. */
import * as z from 'zod';
import { configSchema } from './schema.ts';

interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

function unwrap(s: z.ZodType): { inner: z.ZodType; def: unknown; hasDefault: boolean } {
  let inner: z.ZodType = s;
  let def: unknown;
  let hasDefault = false;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) {
      hasDefault = true;
      def = (inner.def as { defaultValue: unknown }).defaultValue;
      inner = inner.def.innerType as z.ZodType;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      inner = inner.def.innerType as z.ZodType;
    } else if (inner instanceof z.ZodPipe) {
      inner = inner.def.in as z.ZodType;
    } else break;
  }
  return { inner, def, hasDefault };
}

function typeName(s: z.ZodType): string {
  if (s instanceof z.ZodEnum) return (s.options as string[]).map((o) => `\`${o}\``).join(' \\| ');
  if (s instanceof z.ZodArray) return 'list';
  if (s instanceof z.ZodRecord) return 'map';
  if (s instanceof z.ZodObject) return 'object';
  return s.def.type;
}

function walk(s: z.ZodType, prefix: string, rows: Row[]): void {
  const { inner, def, hasDefault } = unwrap(s);
  const description = s.description ?? inner.description ?? '';
  if (prefix) {
    const plain = typeof def !== 'object' || (Array.isArray(def) && def.every((d) => typeof d !== 'object'));
    const shown = hasDefault && plain ? `\`${JSON.stringify(def)}\`` : hasDefault ? 'see below' : '';
    rows.push({
      key: prefix,
      type: typeName(inner),
      def: prefix === 'hostname' ? "the machine's fully qualified name" : prefix === 'nodeName' ? "the machine's host name" : shown,
      description,
    });
  }
  if (inner instanceof z.ZodObject) {
    for (const [k, v] of Object.entries(inner.shape)) walk(v as z.ZodType, prefix ? `${prefix}.${k}` : k, rows);
  } else if (inner instanceof z.ZodArray) {
    walk(inner.def.element as z.ZodType, `${prefix}[]`, rows);
  } else if (inner instanceof z.ZodRecord) {
    walk(inner.def.valueType as z.ZodType, `${prefix}.NAME`, rows);
  }
}

export function renderConfigReference(): string {
  const rows: Row[] = [];
  walk(configSchema, '', rows);
  const lines = [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
    'Every key is optional. Without a file Postern runs on these defaults.',
    '',
    '| key | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.def} | ${r.description.replace(/\|/g, '\\|')} |`),
    '',
    'Default listeners: submission on 587 and 2525, submissions (implicit TLS) on 465, mx on 25,',
    'all on every address.',
    '',
  ];
  return lines.join('\n');
}
