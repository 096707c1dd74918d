/**
 * Every command and the line `oci --help` shows for it, listed without loading any command. Its
 * module, commands/NAME.ts, is loaded only when it runs. To add a command: write commands/NAME.ts
 * exporting its declaration as default (`defineCommand`, or `containerCommand` for one that acts
 * on a container, `transferCommand` for one that moves an image through a registry), and list it here.
 */
import { UsageError } from '../args.js';
import type { ListedCommand } from '../command.js';
import { importCommand } from '../command-module.js';

export const summaries: Readonly<Record<string, string>> = {
  checkpoint: 'checkpoint a running container (not supported: it needs CRIU)',
  completion: 'print a shell completion script: source <(oci completion bash); zsh and fish too',
  copy: 'copy an image between registries (docker://), OCI layouts (oci:), archives and the store, digests unchanged',
  create: 'create a container from a bundle; its program runs on `oci start`',
  delete: 'remove a stopped (or created) container: its cgroups and state',
  events: "print a container's stats at an interval and its OOM events, as JSON lines, until it stops",
  exec: 'run another process in a running container; exit with its status',
  features: 'print what the runtime implements (runtime-spec features.md JSON)',
  gc: 'remove the blobs and layer snapshots of the content store that no image name reaches and no bundle uses',
  images: 'list the images in the content store',
  import: 'import a `docker save` archive into the store, or a `docker export` one as an image or a bundle',
  inspect: 'print an image of the content store (by name, ID or digest): its config and manifest, as JSON or through a template',
  kill: "send a signal (default SIGTERM) to a container's process",
  list: 'list the containers under the state root',
  load: 'load the images of a docker-archive or oci-archive (file or stdin) into the store',
  login: 'check credentials with a registry and store them where podman and skopeo read them',
  logout: "remove a registry's credentials from the auth file",
  pause: "freeze every process of a container (its cgroup's freezer)",
  ps: "list the processes in a container's cgroups",
  pull: 'pull an image from a registry into the content store',
  push: 'push an image from the content store to a registry',
  restore: 'restore a container from a checkpoint (not supported: it needs CRIU)',
  resume: 'thaw a paused container',
  rmi: "remove images' names (or an image by ID) from the content store (`oci gc` then frees their blobs)",
  run: 'run an image (pulled if missing, removed when it ends) or, as runc does, a bundle; exit with its status',
  save: 'save images of the store into a docker-archive or oci-archive (file or stdout)',
  snapshots: "list the store's layer snapshots: each layer applied once, shared by the images and bundles that use it, and what they take on disk",
  spec: 'write a default config.json into a bundle directory, like `runc spec`',
  start: 'run the program of a created container',
  state: "print a container's state (runtime-spec JSON)",
  tag: 'give an image of the content store another name',
  unpack: 'unpack an image from the store into a bundle (rootfs/ and config.json)',
  update: "change a running container's cgroup limits",
  version: 'print the versions of oci, its packages, Node, libseccomp and the helper (--format json)',
};

/** The command NAME: its module's declaration, with its name and summary. */
export async function loadCommand(name: string): Promise<ListedCommand> {
  const summary = Object.hasOwn(summaries, name) ? summaries[name] : undefined;
  if (summary === undefined) throw new UsageError(`unknown command '${name}'`);
  return { ...(await importCommand(name)), name, summary };
}
