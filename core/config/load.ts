import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { redactText } from '../secrets/redact.ts';
import { DEFAULT_CONFIG_FILE } from './default-file.ts';
import { configSchema, type Config } from './schema.ts';

export interface LoadedConfig {
  config: Config;
  /** The YAML file the values came from. */
  file: string;
  /** Per-user state: the embedded broker's data, pid files. */
  stateDir: string;
  /** The PATH to look up redis-server, ffmpeg, ffprobe and python in. */
  searchPath: string;
  /** What the DaVinci Resolve bridge needs from the environment and the OS. */
  resolveEnv: ResolveEnv;
  /** Running under CI (CI set to anything but empty, 0 or false): no update check. */
  ci: boolean;
  /** The npm registry the update check asks: npm's npm_config_registry, else npm's default. */
  npmRegistry: string;
  /** Keys a PROXIMA_ variable set (`worker.concurrency`), each with that variable's name. */
  envOverrides: Record<string, string>;
}

export interface ConfigLocation {
  file: string;
  /** $VISUAL, else $EDITOR; empty when neither is set. */
  editor: string;
}

export interface ResolveEnv {
  platform: NodeJS.Platform;
  /** RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB, PYTHONPATH, PROGRAMDATA, PROGRAMFILES as set. */
  vars: Partial<Record<(typeof RESOLVE_VARS)[number], string>>;
}

const RESOLVE_VARS = [
  'RESOLVE_SCRIPT_API',
  'RESOLVE_SCRIPT_LIB',
  'PYTHONPATH',
  'PROGRAMDATA',
  'PROGRAMFILES',
] as const;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  /** Write the commented default file when none exists (default true). */
  create?: boolean;
}

const ENV_PREFIX = 'PROXIMA_';

/** The OS's per-user config folder for Proxima. */
export function configDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'proxima');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'proxima');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'proxima');
}

/** The OS's per-user state folder for Proxima. */
export function stateDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32')
    return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'proxima', 'state');
  if (platform === 'darwin')
    return join(home, 'Library', 'Application Support', 'proxima', 'state');
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'proxima');
}

/**
 * Reads the config file (creating it with commented defaults on first run), applies
 * PROXIMA_<SECTION>__<KEY> overrides and validates the result. The only reader of process.env.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.home ?? env.HOME ?? homedir();
  const { file } = locateConfig(options);
  const raw = existsSync(file) ? readYaml(file) : {};
  const merged = applyEnvOverrides(raw, env);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw configIssue(file, merged, parsed.error.issues[0]!);
  const config = parsed.data;
  config.paths.proxy_root = expandHome(config.paths.proxy_root, home);
  const vars: ResolveEnv['vars'] = {};
  for (const name of RESOLVE_VARS) if (env[name]) vars[name] = env[name];
  return {
    config,
    file,
    stateDir: stateDir(env, platform, home),
    searchPath: env.PATH ?? '',
    resolveEnv: { platform, vars },
    ci: !['', '0', 'false'].includes((env.CI ?? '').trim().toLowerCase()),
    npmRegistry: env.npm_config_registry || 'https://registry.npmjs.org/',
    envOverrides: Object.fromEntries(overriddenBy.get(merged) ?? []),
  };
}

/**
 * The config file (written with commented defaults on first run) and the user's editor, without
 * reading the file: the commands that repair a broken file must not need it to load.
 */
export function locateConfig(options: LoadOptions = {}): ConfigLocation {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.home ?? env.HOME ?? homedir();
  const file = env.PROXIMA_CONFIG || join(configDir(env, platform, home), 'config.yaml');

  if (!existsSync(file)) {
    if (env.PROXIMA_CONFIG) {
      throw new ConfigError(
        `config file ${file} (from PROXIMA_CONFIG) does not exist`,
        'point PROXIMA_CONFIG at an existing file, or unset it to use the default location',
      );
    }
    if (options.create !== false) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, DEFAULT_CONFIG_FILE, { flag: 'wx' });
    }
  }
  return { file, editor: env.VISUAL || env.EDITOR || '' };
}

function readYaml(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0].line;
    throw new ConfigError(
      `config file ${file}${line ? ` line ${line}` : ''}: not valid YAML (${e.message.split('\n')[0]})`,
      `fix the YAML syntax, or delete the file to get a fresh commented default`,
    );
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `config file ${file}: expected a mapping of sections (paths:, broker:, ...)`,
      'delete the file to get a fresh commented default',
    );
  }
  return value as Record<string, unknown>;
}

/** Which env var overrode which key, so an error can name the variable instead of the file. */
const overriddenBy = new WeakMap<object, Map<string, string>>();

function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(raw);
  const sources = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const parts = name.slice(ENV_PREFIX.length).split('__');
    if (parts.length !== 2) continue;
    const [section, key] = parts.map((p) => p.toLowerCase()) as [string, string];
    const existing = out[section];
    const target =
      typeof existing === 'object' && existing !== null && !Array.isArray(existing)
        ? (existing as Record<string, unknown>)
        : {};
    // Values are YAML scalars, so numbers, booleans and [a, b] lists work; a bare word stays text.
    target[key] = parseEnvValue(value);
    out[section] = target;
    sources.set(`${section}.${key}`, name);
  }
  overriddenBy.set(out, sources);
  return out;
}

function parseEnvValue(value: string): unknown {
  try {
    const parsed: unknown = parseYaml(value);
    return parsed === null ? '' : parsed;
  } catch {
    return value;
  }
}

function configIssue(
  file: string,
  merged: Record<string, unknown>,
  issue: z.core.$ZodIssue,
): ConfigError {
  let path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0] ?? ''];
  const key = path.join('.');
  const envName = overriddenBy.get(merged)?.get(path.slice(0, 2).join('.'));
  const where = envName ? `environment variable ${envName}` : `config file ${file}`;
  if (issue.code === 'unrecognized_keys') {
    return new ConfigError(
      `${where}: unknown key "${key}"`,
      'check the spelling; "proxima config show" lists every key with its value',
    );
  }
  // A mistyped broker URL may still hold its password; the error is printed and pasted.
  const got = redactJson(JSON.stringify(valueAt(merged, path)));
  return new ConfigError(
    `${where}: key ${key} has bad value ${got ?? '(missing)'}, expected ${allowed(issue)}`,
    `set ${key} to ${allowed(issue)}, then check with "proxima config validate"`,
  );
}

function redactJson(json: string | undefined): string | undefined {
  return json === undefined ? undefined : redactText(json);
}

/** What a key takes, in words, for an error about its value. */
export function allowed(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `a ${issue.expected}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `a value of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `a value of at most ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

function valueAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return join(home, p.slice(2));
  return p;
}

/**
 * The environment for a child process of ours: this one's plus `vars`. Secrets such as the
 * broker URL go to children this way, never as arguments, which any local user can read (ps).
 */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...vars };
}
