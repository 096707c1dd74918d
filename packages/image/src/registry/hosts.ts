/**
 * Where the requests for a registry go: its mirrors first (pulls only), then the registry itself.
 * Mirrors come from `OCI_REGISTRY_MIRRORS="docker.io=http://127.0.0.1:5000,quay.io=https://m.example"`
 * and from the config file (`$OCI_CONFIG`, else `$XDG_CONFIG_HOME/oci/config.json`, else
 * `/etc/oci/config.json`): `{ "mirrors": { "docker.io": ["https://m.example"] }, "insecure": ["host:5000"] }`.
 * Plain HTTP is used only for loopback hosts and registries named insecure (`--insecure`), and
 * only when they do not speak TLS; certificates go unchecked only for registries named insecure.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { DEFAULT_REGISTRY } from '../reference.js';

/** Docker Hub's API host: `docker.io` names the registry, not a server. */
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface Endpoint {
  /** Base URL; requests go to `${url}/v2/…` (a mirror's URL may carry a path prefix). */
  url: URL;
  mirror: boolean;
  /** HTTPS may fall back to plain HTTP when the server does not speak TLS (loopback or --insecure). */
  plainHttpAllowed: boolean;
  /** HTTPS without certificate checks (--insecure, or the config file's insecure list). */
  skipVerify: boolean;
}

export interface HostsConfig {
  /** registry → mirror base URLs, tried in order. */
  mirrors: Map<string, URL[]>;
  /** Registries (host[:port]) reached over plain HTTP if HTTPS fails. */
  insecure: Set<string>;
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `docker.io=http://127.0.0.1:5000,quay.io=https://m.example` (a registry may appear more than once). */
export function parseMirrors(text: string, source = 'OCI_REGISTRY_MIRRORS'): Map<string, URL[]> {
  const mirrors = new Map<string, URL[]>();
  for (const item of text.split(/[,\s]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ImageError('EREGISTRY', `${source}: '${item}' is not REGISTRY=URL`);
    addMirror(mirrors, item.slice(0, eq), item.slice(eq + 1), source);
  }
  return mirrors;
}

function addMirror(mirrors: Map<string, URL[]>, registry: string, url: string, source: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImageError('EREGISTRY', `${source}: mirror '${url}' for ${registry} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ImageError('EREGISTRY', `${source}: mirror '${url}' must be http or https`);
  const key = registry === 'index.docker.io' ? DEFAULT_REGISTRY : registry;
  mirrors.set(key, [...(mirrors.get(key) ?? []), parsed]);
}

/** The configuration from the environment and the config file; the environment's mirrors come first. */
export function loadHostsConfig(env: NodeJS.ProcessEnv = process.env): HostsConfig {
  const config: HostsConfig = { mirrors: new Map(), insecure: new Set() };
  if (env.OCI_REGISTRY_MIRRORS) config.mirrors = parseMirrors(env.OCI_REGISTRY_MIRRORS);
  const file = configFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return config;
    throw new ImageError('EREGISTRY', `cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImageError('EREGISTRY', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const { mirrors, insecure } = checkConfig(parsed, file);
  for (const [registry, urls] of Object.entries(mirrors)) for (const url of urls) addMirror(config.mirrors, registry, url, file);
  for (const host of insecure) config.insecure.add(host);
  return config;
}

const CONFIG_KEYS = ['mirrors', 'insecure'] as const;

/** The config file's content, each key checked: a misspelt one is an error, not ignored. */
function checkConfig(parsed: unknown, file: string): { mirrors: Record<string, string[]>; insecure: string[] } {
  const bad = (what: string) => new ImageError('EREGISTRY', `${file}: ${what}`);
  if (!isRecord(parsed)) throw bad('expected a JSON object like {"mirrors": {"docker.io": ["https://mirror.example"]}, "insecure": ["host:5000"]}');
  for (const key of Object.keys(parsed)) {
    if (CONFIG_KEYS.includes(key as (typeof CONFIG_KEYS)[number])) continue;
    const near = CONFIG_KEYS.find((known) => editDistance(key, known) <= 2);
    throw bad(`unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}: expected ${CONFIG_KEYS.map((known) => `"${known}"`).join(' or ')}`);
  }
  const { mirrors = {}, insecure = [] } = parsed;
  if (!isRecord(mirrors)) throw bad('"mirrors" must map registries to lists of URLs, like {"docker.io": ["https://mirror.example"]}');
  for (const [registry, urls] of Object.entries(mirrors)) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) throw bad(`mirrors.${registry} must be a list of URLs`);
  }
  if (!Array.isArray(insecure) || insecure.some((host) => typeof host !== 'string')) throw bad('"insecure" must be a list of registries (host[:port])');
  return { mirrors: mirrors as Record<string, string[]>, insecure: insecure as string[] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Levenshtein distance, for naming the key a misspelt one meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function configFile(env: NodeJS.ProcessEnv): string {
  if (env.OCI_CONFIG) return env.OCI_CONFIG;
  if (process.getuid?.() === 0 && !env.XDG_CONFIG_HOME) return '/etc/oci/config.json';
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'oci', 'config.json');
}

/** Endpoints for `registry`, mirrors first when `useMirrors` (pulls; a push goes to the registry only). */
export function endpointsFor(registry: string, config: HostsConfig, { insecure = false, useMirrors = true } = {}): Endpoint[] {
  const endpoints: Endpoint[] = [];
  if (useMirrors) {
    for (const url of config.mirrors.get(registry) ?? []) {
      const plain = url.protocol === 'http:';
      if (plain && !isLoopback(url.hostname) && !insecure && !config.insecure.has(url.host)) {
        throw new ImageError('EREGISTRY', `refusing plain HTTP to mirror ${url.host} (not a loopback address): use --insecure to allow it`);
      }
      endpoints.push({ url, mirror: true, plainHttpAllowed: plain, skipVerify: insecure || config.insecure.has(url.host) });
    }
  }
  const host = registry === DEFAULT_REGISTRY ? DOCKER_HUB_API : registry;
  const hostname = new URL(`https://${host}`).hostname;
  const skipVerify = insecure || config.insecure.has(registry);
  endpoints.push({ url: new URL(`https://${host}`), mirror: false, plainHttpAllowed: skipVerify || isLoopback(hostname), skipVerify });
  return endpoints;
}
