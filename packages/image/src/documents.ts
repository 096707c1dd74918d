/**
 * The image-spec's JSON documents checked for the shape the rest of the library relies on:
 * manifests and indexes (from a registry or from the store), and image configs. Every reader of
 * these documents goes through here, so none of them meets a field of the wrong type.
 */
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '@oci/specs';
import { isDigest } from './digest.js';
import { ImageError } from './errors.js';
import { isIndex, isManifest } from './media-types.js';

/** The manifest or index in `bytes`, or EMANIFEST / EMEDIATYPE saying what is wrong with it. */
export function parseManifest(bytes: Buffer, contentType: string, what: string): ImageManifest | ImageIndex {
  if (contentType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new ImageError('EMEDIATYPE', `${what} is a Docker schema 1 manifest, which is not supported`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ImageError('EMANIFEST', `manifest ${what} is not valid JSON`);
  }
  const fail = (why: string): never => {
    throw new ImageError('EMANIFEST', `manifest ${what} is malformed: ${why}`);
  };
  if (typeof document !== 'object' || document === null || Array.isArray(document)) fail('not a JSON object');
  if (document.schemaVersion !== 2) fail(`schemaVersion is ${JSON.stringify(document.schemaVersion)}, not 2`);
  const declared = document.mediaType;
  if (declared !== undefined && typeof declared !== 'string') fail('mediaType is not a string');
  if (typeof declared === 'string' && contentType && contentType !== 'application/json' && contentType !== declared) {
    fail(`served as ${contentType} but declares ${declared}`);
  }
  const kind = (declared as string | undefined) ?? contentType;
  const looksLikeIndex = isIndex(kind) || (!isManifest(kind) && Array.isArray(document.manifests));
  if (looksLikeIndex) {
    if (!Array.isArray(document.manifests)) fail('an index without a manifests list');
    for (const [i, d] of (document.manifests as unknown[]).entries()) checkDescriptor(d, `manifests[${i}]`, fail);
  } else {
    if (!isManifest(kind) && kind) throw new ImageError('EMEDIATYPE', `${what} is ${kind}, not an image manifest or index`);
    checkDescriptor(document.config, 'config', fail);
    if (!Array.isArray(document.layers)) fail('no layers list');
    for (const [i, d] of (document.layers as unknown[]).entries()) checkDescriptor(d, `layers[${i}]`, fail);
  }
  return document as unknown as ImageManifest | ImageIndex;
}

function checkDescriptor(value: unknown, where: string, fail: (why: string) => never): void {
  const d = value as Partial<Descriptor> | undefined;
  if (typeof d !== 'object' || d === null) fail(`${where} is not a descriptor`);
  if (typeof d!.mediaType !== 'string') fail(`${where} has no mediaType`);
  if (typeof d!.digest !== 'string' || !isDigest(d!.digest)) fail(`${where} has a bad digest ${JSON.stringify(d!.digest)}`);
  if (!Number.isSafeInteger(d!.size) || d!.size! < 0) fail(`${where} has a bad size ${JSON.stringify(d!.size)}`);
}

/** The image config in `bytes`, or EMANIFEST saying what is wrong with it; `name` is the image's. */
export function parseConfig(bytes: Buffer, manifest: ImageManifest, name: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new ImageError('EMANIFEST', `${name}: the image config ${manifest.config.digest} is not valid JSON`);
  }
  if (typeof config !== 'object' || config === null || typeof config.os !== 'string' || typeof config.architecture !== 'string') {
    throw new ImageError('EMANIFEST', `${name}: the image config ${manifest.config.digest} has no os and architecture`);
  }
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
    throw new ImageError('EMANIFEST', `${name}: the config lists ${Array.isArray(diffIds) ? diffIds.length : 0} diff_ids for ${manifest.layers.length} layers`);
  }
  const wrong = CONFIG_FIELDS.find(([field, check]) => {
    const value = field.reduce<unknown>((at, key) => (at as Record<string, unknown> | null | undefined)?.[key], config);
    return value !== undefined && value !== null && !check(value);
  });
  if (wrong) throw new ImageError('EMANIFEST', `${name}: the image config ${manifest.config.digest} is malformed: ${wrong[0].join('.')} is not ${wrong[2]}`);
  if (!diffIds.every((id) => typeof id === 'string' && isDigest(id))) {
    throw new ImageError('EMANIFEST', `${name}: the image config ${manifest.config.digest} is malformed: a diff_id is not a digest`);
  }
  return config;
}

const isString = (value: unknown) => typeof value === 'string';
const isStrings = (value: unknown) => Array.isArray(value) && value.every(isString);
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The config's fields that bundles and annotations are made from, and the type each must have.
 * Docker writes null for many of them (`"Labels": null`): null is taken as absent.
 */
const CONFIG_FIELDS: readonly [field: readonly string[], check: (value: unknown) => boolean, type: string][] = [
  [['created'], isString, 'a string'],
  [['author'], isString, 'a string'],
  [['variant'], isString, 'a string'],
  [['os.version'], isString, 'a string'],
  [['os.features'], isStrings, 'a list of strings'],
  [['config'], isObject, 'an object'],
  [['config', 'User'], isString, 'a string'],
  [['config', 'WorkingDir'], isString, 'a string'],
  [['config', 'StopSignal'], isString, 'a string'],
  [['config', 'Env'], isStrings, 'a list of strings'],
  [['config', 'Entrypoint'], isStrings, 'a list of strings'],
  [['config', 'Cmd'], isStrings, 'a list of strings'],
  [['config', 'ExposedPorts'], isObject, 'an object'],
  [['config', 'Volumes'], isObject, 'an object'],
  [['config', 'Labels'], (value) => isObject(value) && Object.values(value as object).every(isString), 'an object of strings'],
];
