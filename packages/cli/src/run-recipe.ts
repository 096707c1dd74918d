/**
 * Run recipes: what the `oci` front door (packages/native/src/front-door/run.c) needs to run an
 * image again without Node. A warm `oci run IMAGE` spends most of its time starting Node; what it
 * does once the image's snapshots are there is a bundle, a state directory, cgroups and a plan for
 * the helper, decided by the same inputs every time but the command line. So a run of
 * `oci run IMAGE [ARG…]` with no option (but --rm and -i, which change none of these) leaves, once
 * its container was created, the recipe of the next run of IMAGE in snapshots/recipes/@run/HEX
 * (HEX: the sha256 of IMAGE and a NUL):
 *
 *   {"index":HEX,"code":HEX,"ref":…,"entrypoint":[…],"cmd":[…],"env":[…],"store":…,"root":…,
 *    "helper":{…},"host":{…},"chains":[…],"lower":[…],"volumes":[…],
 *    "cgroup":{"made":[…],"cpuset":[…],"writes":[…],"deviceFilter"?:{…}},"parts":[N,N,N,N]}\n
 *   config.json, creating.json, state.json and the helper's plan up to its last op (exec), as written
 *
 * The texts have holes the front door fills: the container's id (the byte 0x01) everywhere;
 * state.json's pid, start time and creation time (0x02-0x04); the program, ARGS[0], in the plan's
 * find_program (0x05); config.json's process.args (0x06). ARGS are the image's entrypoint and the
 * command line after IMAGE, or its cmd without one, as the image conversion makes them; the plan's
 * exec (ARGS, then `env`) is the front door's to append. It follows a recipe only for root, while
 * index.json is still the one IMAGE was resolved from (`index`), the code that wrote it is the
 * code that would run (`code`: run.cjs and run-image.cjs), the helper is the same file, and the
 * host facts the plan was made from (`host`: boot, cgroups and their layout, capabilities) read the same; anything
 * else it hands to Node, before changing anything, and Node writes a recipe again. A recipe is
 * derived, never authoritative: gc clears them all.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredImage } from '@oci/image';
import { SnapshotLayout } from '@oci/image/internal/snapshot/layout';
import { recordName } from '@oci/image/internal/snapshot/users';
import { helperPath } from '@oci/native';
import { deviceFilterProgram } from '@oci/runtime/cgroups/device-filter';
import { hierarchyOf, type Layout } from '@oci/runtime/cgroups/layout';
import { encodePlan, type Op } from '@oci/runtime/plan/ops';
import type { CreateTrace } from '@oci/runtime/runtime';
import type { Spec } from '@oci/specs';
import { hex } from './overlay-recipe.js';

const HOLE = { id: '\x01', pid: '\x02', startTime: '\x03', created: '\x04', program: '\x05', args: '\x06' } as const;
const HOLES = /[\x01-\x06]/;

/** What the run's container left to read while it exists: the bundle as made. */
export interface RunCapture {
  trace: CreateTrace;
  config: string;
  chains: string[];
  volumes: string[];
}

/** Reads what the recipe needs of the bundle while the container is created (it goes when the run ends). */
export function captureRun(storeDir: string, trace: CreateTrace): RunCapture | undefined {
  const { bundle } = trace.state;
  const entries = readdirSync(bundle).sort();
  // What createContainerBundle makes of an overlay, and nothing else (a copy has no upper).
  const volumes = entries.includes('volumes') ? readdirSync(path.join(bundle, 'volumes')).map((name) => `volumes/${name}`) : [];
  if (entries.filter((name) => name !== 'volumes').join(' ') !== 'config.json rootfs run.json upper work') return undefined;
  const record = JSON.parse(readFileSync(path.join(new SnapshotLayout(storeDir).users, recordName(bundle)), 'utf8')) as { chains: string[] };
  return { trace, config: readFileSync(path.join(bundle, 'config.json'), 'utf8'), chains: record.chains, volumes };
}

/**
 * Writes the recipe of the run captured (`root`: the state root; `args`: the command line after
 * `ref`; `image`: what `ref` named), replacing the one there; throws why when it cannot have one.
 */
export function writeRunRecipe(storeDir: string, root: string, ref: string, args: readonly string[], index: Buffer, image: StoredImage, run: RunCapture): void {
  const layout = new SnapshotLayout(storeDir);
  const code = codeDigest();
  const { trace, config } = run;
  const { cgroup, state, ops } = trace;
  const spec = JSON.parse(config) as Spec;
  const entrypoint = image.config.config?.Entrypoint ?? [];
  const cmd = image.config.config?.Cmd ?? [];
  const processArgs = spec.process?.args ?? [];
  const exec = ops.at(-1)!;
  const env = exec.slice(2 + processArgs.length) as string[];
  const lowerdir = /"lowerdir=([^"]*)"/.exec(config)?.[1];
  const argsAt = config.split(argsJson(processArgs)).length - 1;
  const original = [config, JSON.stringify(trace.creating), JSON.stringify(state), encodePlan(ops).subarray(4).toString()];
  const refused =
    (!code && 'not the bundled CLI') ||
    (layout.unprivileged && 'unprivileged') ||
    ((state.hooks || state.hostMount) && 'hooks or a host mount') ||
    // v2 limits would need controllers enabled in the ancestors first: Node's to do.
    (cgroup.writes.some((w) => w.hierarchy.version !== 1) && 'cgroup v2 limits') ||
    (!lowerdir && 'no overlay') ||
    (JSON.stringify([...entrypoint, ...(args.length > 0 ? args : cmd)]) !== JSON.stringify(processArgs) &&
      'process.args not made of the entrypoint and the line') ||
    ((exec[0] !== 'exec' || exec[1] !== processArgs.length || JSON.stringify(exec.slice(2, 2 + processArgs.length)) !== JSON.stringify(processArgs)) &&
      'a plan that does not end in exec') ||
    (argsAt !== 1 && 'process.args not found once in config.json') ||
    (original.some((text) => HOLES.test(text)) && 'control characters a recipe uses for its holes');
  if (refused) throw new Error(refused);
  const texts = [
    config.replace(argsJson(processArgs), `"args": ${HOLE.args}`),
    original[1]!,
    stateTemplate(state),
    encodePlan(ops.slice(0, -1).map(programHole)).subarray(4).toString(),
  ];
  const cpuset = cgroup.layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('cpuset'));
  const v2 = cgroup.layout.hierarchies.find((h) => h.version === 2);
  const helper = statSync(helperPath(), { bigint: true });
  const header = {
    index: hex(index),
    code: code!,
    ref,
    entrypoint,
    cmd,
    env,
    store: storeDir,
    root,
    helper: { path: helperPath(), size: Number(helper.size), mtime: String(helper.mtimeNs) },
    host: hostFacts(cgroup.layout),
    chains: run.chains,
    lower: lowerdir!.split(':'),
    volumes: run.volumes,
    cgroup: {
      made: cgroup.record.created,
      cpuset: cpuset ? cgroup.record.created.filter((dir) => dir.startsWith(`${cpuset.mountPoint}/`)) : [],
      writes: cgroup.writes.map(({ hierarchy, write }) => [cgroup.dirs.get(hierarchy)!, write.file, write.value, write.otherwise ?? '']),
      // Device rules without a v1 devices controller: the eBPF program makeCgroup attaches to the v2 directory.
      ...(v2 &&
        cgroup.deviceRules.length > 0 &&
        !hierarchyOf(cgroup.layout, 'devices') && {
          deviceFilter: { dir: cgroup.dirs.get(v2)!, program: deviceFilterProgram(cgroup.deviceRules).toString('hex') },
        }),
    },
  };
  const holed = texts.map((text) => Buffer.from(text.replaceAll(state.id, HOLE.id)));
  // An id is of [\w+.-]: as it is inside a JSON string, and so is the escape of its hole.
  const headerText = JSON.stringify({ ...header, parts: holed.map((part) => part.length) }).replaceAll(state.id, '\\u0001');
  mkdirSync(path.join(layout.recipes, '@run'), { recursive: true });
  const file = path.join(layout.recipes, '@run', hex(Buffer.from(`${ref}\0`)));
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, Buffer.concat([Buffer.from(`${headerText}\n`), ...holed]));
  renameSync(temp, file);
}

/** process.args as config.json holds it (JSON.stringify(spec, null, '\t'), two levels down); run.c writes it so. */
const argsJson = (args: readonly string[]) => `"args": ${JSON.stringify(args, null, '\t').replaceAll('\n', '\n\t\t')}`;

/** find_program's program is the front door's to put in. */
const programHole = (op: Op): Op => (op[0] === 'find_program' ? ['find_program', HOLE.program, op[2]] : op);

/**
 * state.json with holes for what only the run knows. JSON.stringify writes pid and startTime
 * first after the id, and created before annotations: the first of each is the state's own.
 */
function stateTemplate(state: CreateTrace['state']): string {
  const text = JSON.stringify(state);
  const template = text
    .replace(`"pid":${state.pid},"startTime":${JSON.stringify(state.startTime)},`, `"pid":${HOLE.pid},"startTime":"${HOLE.startTime}",`)
    .replace(`"created":${JSON.stringify(state.created)},`, `"created":"${HOLE.created}",`);
  const filled = template.replace(HOLE.pid, String(state.pid)).replace(HOLE.startTime, state.startTime).replace(HOLE.created, state.created);
  if (filled !== text || !template.includes(HOLE.pid) || !template.includes(HOLE.created)) throw new Error('state.json is not in the shape a recipe holds');
  return template;
}

/**
 * What the plan and the cgroup's places were made from (runtime/src/host.ts and
 * cgroups/layout.ts read these): files that must read the same, paths that must exist or not, and
 * the cgroup layout as readLayout found it ("VERSION KEY MOUNTPOINT ROOT" a hierarchy, in
 * mountinfo's order; run.c reads /proc/self/mountinfo by the same rules). A fact added there is
 * added here.
 */
function hostFacts(layout: Layout) {
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  const files = ['/proc/sys/kernel/random/boot_id', '/proc/self/cgroup', '/proc/sys/kernel/cap_last_cap'];
  if (v2) files.push(path.join(v2.mountPoint, 'cgroup.controllers'));
  return {
    files: Object.fromEntries(files.map((file) => [file, readFileSync(file, 'utf8')])),
    exist: Object.fromEntries(['/proc/kcore', '/dev/mqueue'].map((file) => [file, existsSync(file)])),
    layout: layout.hierarchies.map((h) => `${h.version} ${h.key} ${h.mountPoint} ${h.mountRoot}\n`).join(''),
  };
}

/** The sha256 of the files `oci run IMAGE` runs (run.cjs, then this one, run-image.cjs); undefined outside the bundled CLI. */
function codeDigest(): string | undefined {
  const self = fileURLToPath(import.meta.url);
  if (path.basename(self) !== 'run-image.cjs') return undefined;
  return hex(Buffer.concat([readFileSync(path.join(path.dirname(self), 'run.cjs')), readFileSync(self)]));
}
