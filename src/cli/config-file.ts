import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import leven from 'leven';
import { BatonError } from '../errors.js';

/** The file name baton looks for in the working folder. */
export const CONFIG_FILE_NAME = 'baton.config.json';

/** The subset of JSON Schema the config schema uses. */
interface PropertySchema {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  items?: { type: 'string' };
  minItems?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: string[];
  default?: unknown;
  description: string;
}

interface ConfigSchema {
  properties: Record<string, PropertySchema>;
}

/** Values from a config file, keyed like the flags' attribute names (`readyTimeout`). */
export type ConfigValues = Record<string, string | number | boolean | string[]>;

let schemaCache: ConfigSchema | undefined;

/** The JSON Schema shipped in schema/baton.config.schema.json: the single source of truth for the file's keys. */
export function configSchema(): ConfigSchema {
  schemaCache ??= JSON.parse(readFileSync(new URL('../../schema/baton.config.schema.json', import.meta.url), 'utf8')) as ConfigSchema;
  return schemaCache;
}

/**
 * Reads the config file: the one named (which must exist), or `baton.config.json` in
 * `cwd` when present. Returns undefined when there is none. Errors name the file,
 * the key and what was expected.
 */
export function loadConfigFile(named: string | undefined, cwd: string): { file: string; values: ConfigValues } | undefined {
  const file = path.resolve(cwd, named ?? CONFIG_FILE_NAME);
  if (!existsSync(file)) {
    if (named === undefined) return undefined;
    throw configError(file, 'does not exist', 'create it or fix --config');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw configError(file, `is not valid JSON (${(err as Error).message})`, 'fix the syntax');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError(file, 'must hold a JSON object', 'e.g. { "port": 8080, "command": ["caddy", "run"] }');
  }
  return { file, values: validate(file, parsed as Record<string, unknown>) };
}

function validate(file: string, config: Record<string, unknown>): ConfigValues {
  const { properties } = configSchema();
  const values: ConfigValues = {};
  for (const [key, value] of Object.entries(config)) {
    const schema = properties[key];
    if (!schema) {
      const known = Object.keys(properties).filter((k) => k !== '$schema');
      const near = closest(key, known);
      throw configError(file, `has an unknown key "${key}"`, `${near ? `did you mean "${near}"? ` : ''}known keys: ${known.join(', ')}`);
    }
    const problem = check(value, schema);
    if (problem) throw configError(file, `key "${key}" must be ${problem}, got ${JSON.stringify(value)}`, 'see schema/baton.config.schema.json or docs/configuration.md');
    if (key !== '$schema') values[key] = value as ConfigValues[string];
  }
  return values;
}

/** What a value should have been, or undefined when it fits. */
function check(value: unknown, schema: PropertySchema): string | undefined {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return 'a string';
      if (schema.enum && !schema.enum.includes(value)) return `one of ${schema.enum.join(', ')}`;
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `a string matching ${schema.pattern}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'true or false';
    case 'integer': {
      const range = `a whole number from ${schema.minimum ?? 0} to ${schema.maximum ?? Number.MAX_SAFE_INTEGER}`;
      if (typeof value !== 'number' || !Number.isInteger(value)) return range;
      if ((schema.minimum !== undefined && value < schema.minimum) || (schema.maximum !== undefined && value > schema.maximum)) return range;
      return undefined;
    }
    case 'number': {
      const range = schema.maximum === undefined ? `a number >= ${schema.minimum ?? 0}` : `a number from ${schema.minimum ?? 0} to ${schema.maximum}`;
      if (typeof value !== 'number' || !Number.isFinite(value)) return range;
      if ((schema.minimum !== undefined && value < schema.minimum) || (schema.maximum !== undefined && value > schema.maximum)) return range;
      return undefined;
    }
    case 'array': {
      const what = `an array of strings${schema.minItems ? ` with at least ${schema.minItems} item` : ''}`;
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return what;
      return value.length < (schema.minItems ?? 0) ? what : undefined;
    }
  }
}

/** The known key nearest `key` (case aside), when it is near enough to be a slip: as commander suggests flags. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = leven(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function configError(file: string, problem: string, hint: string): BatonError {
  return new BatonError('E_CONFIG_FILE', `config file ${file} ${problem}`, hint);
}
