/** The options of `oci run IMAGE` (docker's and podman's daily ones), which runc's `run` lacks. */
import type { OptionSpecs } from './args.js';
import { connectionOptions, registryOptions } from './registry-options.js';

const { creds, quiet } = registryOptions;

export const imageOptions = {
  pull: {
    type: 'string',
    value: 'WHEN',
    choices: ['missing', 'always', 'never'],
    describe: 'pull the image: when the store lacks it (default), always, or never',
  },
  platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
  name: { type: 'string', value: 'ID', describe: 'the container id; a named container is kept, stopped, when it ends (oci delete ID removes it)' },
  rm: { type: 'boolean', describe: 'remove the container and its writable layer when it ends (the default unless --name)' },
  env: { type: 'string', short: 'e', multiple: true, value: 'NAME[=VALUE]', describe: 'set an environment variable (NAME alone: its value here)' },
  'env-file': { type: 'string', multiple: true, value: 'FILE', describe: 'read NAME=VALUE lines from FILE' },
  workdir: { type: 'string', short: 'w', value: 'DIR', describe: 'working directory in the container' },
  user: { type: 'string', short: 'u', value: 'USER[:GROUP]', describe: "run as this user (a name from the image's /etc/passwd, or a uid)" },
  entrypoint: { type: 'string', value: 'PROGRAM', describe: "replace the image's entrypoint ('' for none)" },
  interactive: { type: 'boolean', short: 'i', describe: 'pass stdin to the program (without it, it reads nothing)' },
  tty: { type: 'boolean', short: 't', describe: 'give the program a terminal' },
  hostname: { type: 'string', value: 'NAME', describe: "the container's hostname" },
  volume: { type: 'string', short: 'v', multiple: true, value: 'SRC:DST[:ro]', describe: 'bind the host path SRC (made if missing) at DST' },
  'read-only': { type: 'boolean', describe: 'a read-only root filesystem' },
  memory: { type: 'string', short: 'm', value: 'BYTES', describe: 'memory limit (64m, 1g…)' },
  cpus: { type: 'string', value: 'N', describe: 'CPU limit, in CPUs (1.5)' },
  'pids-limit': { type: 'string', value: 'N', describe: 'maximum number of processes' },
  network: { type: 'string', value: 'MODE', choices: ['none', 'host'], describe: "none (the default: loopback only) or the host's network" },
  rootfs: {
    type: 'string',
    value: 'HOW',
    choices: ['auto', 'overlay', 'copy'],
    describe: 'an overlay of the layer snapshots (auto: where it can be had) or a full copy',
  },
  creds,
  ...connectionOptions,
  quiet: { ...quiet, describe: 'no pull progress' },
} as const satisfies OptionSpecs;
