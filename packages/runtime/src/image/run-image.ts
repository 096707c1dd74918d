/**
 * `runImage`: from an image reference to a running container in one call, as `docker run` and
 * `podman run` do, without a daemon. The image is pulled if the policy says so, its snapshots
 * prepared (each layer once, shared by every container of it), a bundle made in
 * STORE/containers/ID whose rootfs is an overlay of them, config.json made by the same
 * conversion as `oci unpack`, and the container run in the foreground with our stdio; afterwards
 * the container and its writable layer are removed, unless it is kept (`remove: false`) or left
 * running (`detach`).
 */
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import type { ProgressEvent, RegistryOptions, Store, UnpackProgress } from '@oci/image';
import type { Platform, Spec } from '@oci/specs';
import { generatedId, validateId } from '../id.js';
import type { RunOptions, Runtime } from '../runtime.js';
import { abandonedRuns, type ContainerBundleOptions, containersDir, createContainerBundle, type RootfsKind, rootfsChoice } from './container-bundle.js';
import { ensureImage, type PullPolicy } from './ensure-image.js';
import { removeContainerBundle } from './run-record.js';
import { applyRunOptions, type RunSpecOptions } from './run-spec.js';

/** A detached container's stdout and stderr, in its bundle. */
export const OUTPUT_LOG = 'output.log';

export interface RunImageOptions extends RunSpecOptions, Pick<ContainerBundleOptions, 'args' | 'entrypoint' | 'env' | 'cwd' | 'user' | 'tty'> {
  store: Store;
  /** The image reference (`busybox`, `registry.example/app:1`, a name in the store). */
  image: string;
  /** Default: missing. */
  pull?: PullPolicy;
  /** An overlay of the image's snapshots (auto, the default: where this process can have one) or a full copy. */
  rootfs?: 'auto' | RootfsKind;
  platform?: Platform;
  registry?: RegistryOptions;
  /** The container's id; default: generated. */
  id?: string;
  /** Pass our stdin to the program (docker's -i); without it the program reads /dev/null. */
  interactive?: boolean;
  /**
   * Return once the program started, leaving the container running; its output goes to
   * `output.log` in its bundle (so that `$(oci run -d …)` does not wait for the container).
   */
  detach?: boolean;
  /** Remove the container and its writable layer when it ends. Default: unless `id` or `detach` is given. */
  remove?: boolean;
  onProgress?(event: RunImageEvent): void;
  /** Told, once the container is created, what its create did (Runtime.run's `onCreated`). */
  onCreated?: RunOptions['onCreated'];
}

export type RunImageEvent =
  /** The image is being pulled. */
  | { type: 'pull'; event: ProgressEvent }
  /** A layer is being applied into its snapshot (or, for a full copy, into the rootfs). */
  | { type: 'unpack'; progress: UnpackProgress }
  /** How the rootfs was made, and why not as an overlay when it was copied. */
  | { type: 'rootfs'; rootfs: RootfsKind; reason?: string };

export interface RunImageResult {
  id: string;
  /** The program's exit status (128+N when signal N killed it); 0 when detached. */
  status: number;
  rootfs: RootfsKind;
}

export async function runImage(runtime: Runtime, options: RunImageOptions): Promise<RunImageResult> {
  const { store, onProgress } = options;
  const id = options.id ?? generatedId();
  validateId(id);
  const remove = options.remove ?? (options.id === undefined && !options.detach);
  await sweepAbandoned(runtime, store);
  const rootfs = await rootfsChoice(options.rootfs);
  const image = await ensureImage(store, options.image, {
    policy: options.pull ?? 'missing',
    platform: options.platform,
    registry: options.registry,
    onProgress: onProgress && ((event) => onProgress({ type: 'pull', event })),
    // Unprivileged, whether the kernel allows the overlays shows only once one is tried (as the
    // bundle is made, where a copy can take over): no snapshots while pulling.
    snapshots: rootfs.kind === 'overlay' && process.geteuid!() === 0,
  });
  const bundle = await createContainerBundle(store, image, id, {
    ...options,
    rootfs,
    remove,
    edit: (spec: Spec) => applyRunOptions(spec, options),
    onProgress: onProgress && ((progress) => onProgress({ type: 'unpack', progress })),
  });
  onProgress?.({ type: 'rootfs', rootfs: bundle.rootfs, ...(bundle.reason && { reason: bundle.reason }) });
  const stdin = (options.interactive || options.tty) && !options.detach ? 0 : openSync('/dev/null', 'r');
  const output = options.detach ? openSync(path.join(bundle.dir, OUTPUT_LOG), 'a', 0o600) : undefined;
  let created = false;
  try {
    const status = await runtime.run(id, {
      bundle: bundle.dir,
      detach: options.detach,
      keep: !remove,
      stdio: [stdin, output ?? 1, output ?? 2],
      onCreated: options.onCreated,
    });
    created = true;
    return { id, status, rootfs: bundle.rootfs };
  } finally {
    for (const fd of [stdin, output]) if (fd !== undefined && fd !== 0) closeSync(fd);
    // A container that could not be created leaves nothing; one that ran goes when asked.
    if (remove || !created) removeContainerBundle(bundle.dir);
  }
}

/** Removes what foreground runs killed before their end left: their containers and bundles. */
async function sweepAbandoned(runtime: Runtime, store: Store): Promise<void> {
  for (const id of abandonedRuns(store)) {
    await runtime.delete(id, { force: true }).catch(() => undefined);
    removeContainerBundle(path.join(containersDir(store), id));
  }
}
