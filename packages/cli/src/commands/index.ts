/**
 * Every command: the line `oci --help` shows for it (listed without loading any command) and its
 * module, loaded only when it runs. To add a command: write commands/NAME.ts exporting
 * `defineCommand({...})` as default, and list it here.
 */
import type { Command } from '../command.js';

export interface CommandEntry {
  readonly summary: string;
  // biome-ignore lint/suspicious/noExplicitAny: each command declares its own options; the table holds them all
  readonly load: () => Promise<{ default: Command<any> }>;
}

export const commands: Readonly<Record<string, CommandEntry>> = {
  checkpoint: { summary: 'checkpoint a running container (not supported: it needs CRIU)', load: () => import('./checkpoint.js') },
  completion: { summary: 'print a shell completion script: source <(oci completion bash); zsh and fish too', load: () => import('./completion.js') },
  copy: {
    summary: 'copy an image between registries (docker://), OCI layouts (oci:), archives and the store, digests unchanged',
    load: () => import('./copy.js'),
  },
  create: { summary: 'create a container from a bundle; its program runs on `oci start`', load: () => import('./create.js') },
  delete: { summary: 'remove a stopped (or created) container: its cgroups and state', load: () => import('./delete.js') },
  events: { summary: "print a container's stats at an interval and its OOM events, as JSON lines, until it stops", load: () => import('./events.js') },
  exec: { summary: 'run another process in a running container; exit with its status', load: () => import('./exec.js') },
  features: { summary: 'print what the runtime implements (runtime-spec features.md JSON)', load: () => import('./features.js') },
  gc: { summary: 'remove the blobs and layer snapshots of the content store that no image name reaches and no bundle uses', load: () => import('./gc.js') },
  images: { summary: 'list the images in the content store', load: () => import('./images.js') },
  import: { summary: 'import a `docker save` archive into the store, or a `docker export` one as an image or a bundle', load: () => import('./import.js') },
  inspect: {
    summary: 'print an image of the content store (by name, ID or digest): its config and manifest, as JSON or through a template',
    load: () => import('./inspect.js'),
  },
  kill: { summary: "send a signal (default SIGTERM) to a container's process", load: () => import('./kill.js') },
  list: { summary: 'list the containers under the state root', load: () => import('./list.js') },
  load: { summary: 'load the images of a docker-archive or oci-archive (file or stdin) into the store', load: () => import('./load.js') },
  login: { summary: 'check credentials with a registry and store them where podman and skopeo read them', load: () => import('./login.js') },
  logout: { summary: "remove a registry's credentials from the auth file", load: () => import('./logout.js') },
  pause: { summary: "freeze every process of a container (its cgroup's freezer)", load: () => import('./pause.js') },
  ps: { summary: "list the processes in a container's cgroups", load: () => import('./ps.js') },
  pull: { summary: 'pull an image from a registry into the content store', load: () => import('./pull.js') },
  push: { summary: 'push an image from the content store to a registry', load: () => import('./push.js') },
  restore: { summary: 'restore a container from a checkpoint (not supported: it needs CRIU)', load: () => import('./restore.js') },
  resume: { summary: 'thaw a paused container', load: () => import('./resume.js') },
  rmi: { summary: "remove images' names (or an image by ID) from the content store (`oci gc` then frees their blobs)", load: () => import('./rmi.js') },
  run: { summary: 'run an image (pulled if missing, removed when it ends) or, as runc does, a bundle; exit with its status', load: () => import('./run.js') },
  save: { summary: 'save images of the store into a docker-archive or oci-archive (file or stdout)', load: () => import('./save.js') },
  snapshots: {
    summary: "list the store's layer snapshots: each layer applied once, shared by the images and bundles that use it, and what they take on disk",
    load: () => import('./snapshots.js'),
  },
  spec: { summary: 'write a default config.json into a bundle directory, like `runc spec`', load: () => import('./spec.js') },
  start: { summary: 'run the program of a created container', load: () => import('./start.js') },
  state: { summary: "print a container's state (runtime-spec JSON)", load: () => import('./state.js') },
  tag: { summary: 'give an image of the content store another name', load: () => import('./tag.js') },
  unpack: { summary: 'unpack an image from the store into a bundle (rootfs/ and config.json)', load: () => import('./unpack.js') },
  update: { summary: "change a running container's cgroup limits", load: () => import('./update.js') },
  version: { summary: 'print the versions of oci, its packages, Node, libseccomp and the helper (--format json)', load: () => import('./version.js') },
};
