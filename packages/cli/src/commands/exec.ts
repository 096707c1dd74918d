import { readFileSync } from 'node:fs';
import { exitStatus } from '@oci/runtime/foreground';
import type { Process } from '@oci/specs';
import { UsageError } from '../args.js';
import { containerCommand } from '../runtime.js';

/** runc's status for an exec whose process could not start. */
const EXEC_FAILED_STATUS = 255;

/** runc's exec options. */
const execOptions = {
  process: { type: 'string', short: 'p', value: 'FILE', describe: 'the process as runtime-spec JSON (other process options are then ignored)' },
  detach: { type: 'boolean', short: 'd', describe: 'return once the program runs' },
  'pid-file': { type: 'string', value: 'FILE', describe: "write the program's pid to FILE" },
  tty: { type: 'boolean', short: 't', describe: 'give the program a terminal' },
  'console-socket': { type: 'string', value: 'PATH', describe: "unix socket to send the terminal's master to" },
  cwd: { type: 'string', value: 'DIR', describe: 'working directory in the container' },
  env: { type: 'string', short: 'e', multiple: true, value: 'NAME=VALUE', describe: 'add to the environment' },
  user: { type: 'string', short: 'u', value: 'UID[:GID]', describe: 'run as this user (numeric ids)' },
  'additional-gids': { type: 'number', short: 'g', multiple: true, value: 'GID', describe: 'add a supplementary group' },
  cap: { type: 'string', short: 'c', multiple: true, value: 'CAP', describe: 'add a capability (CAP_NET_ADMIN…)' },
  'no-new-privs': { type: 'boolean', describe: 'set no_new_privs for the program' },
  'preserve-fds': { type: 'number', value: 'N', describe: 'pass fds 3 to 3+N-1 to the program' },
} as const;

export default containerCommand(
  async (runtime, id, { options, rest }) => {
    if (!options.process && rest.length === 0) throw new UsageError('needs a command to run, or --process', 'exec');
    try {
      const result = await runtime.exec(id, {
        process: options.process === undefined ? undefined : readProcess(options.process),
        changes: {
          args: rest,
          cwd: options.cwd,
          env: options.env,
          ...parseUser(options.user),
          additionalGids: options['additional-gids'],
          capabilities: options.cap?.map((name) => (/^cap_/i.test(name) ? name : `CAP_${name}`).toUpperCase()),
          tty: options.tty,
          noNewPrivileges: options['no-new-privs'],
        },
        pidFile: options['pid-file'],
        consoleSocket: options['console-socket'],
        detach: options.detach,
        preserveFds: options['preserve-fds'],
      });
      return 'pid' in result ? 0 : exitStatus(result);
    } catch (error) {
      throw Object.assign(error as Error, { exitStatus: EXEC_FAILED_STATUS });
    }
  },
  { usage: '[options] ID [COMMAND [ARG…]]', options: execOptions, restAfter: 1 },
);

function readProcess(file: string): Process {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`process file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return JSON.parse(text) as Process;
  } catch (error) {
    throw new Error(`process file ${file}: not valid JSON: ${(error as Error).message}`);
  }
}

function parseUser(user: string | undefined): { uid?: number; gid?: number } {
  if (user === undefined) return {};
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) throw new UsageError(`--user needs UID or UID:GID, numeric (got '${user}')`, 'exec');
  return { uid: Number(match[1]), gid: match[2] === undefined ? undefined : Number(match[2]) };
}
