import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { defineCommand } from '../command.js';
import { interruptible } from '../interrupt.js';
import { unpackListener, withProgress } from '../progress.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options] FILE.tar|- [REF]',
  options: {
    export: { type: 'boolean', describe: 'FILE.tar is a `docker export` filesystem: make an image named REF, or a bundle with --bundle' },
    bundle: { type: 'string', short: 'b', value: 'DIR', describe: 'with --export: unpack into a bundle (rootfs/ and config.json) instead' },
    cmd: { type: 'string', value: 'CMD', describe: 'with --export: the command (a JSON array, or words split on spaces; default sh)' },
    env: { type: 'string', multiple: true, value: 'NAME=VALUE', describe: 'with --export: an environment variable (repeatable)' },
    workdir: { type: 'string', value: 'DIR', describe: 'with --export: the working directory' },
    user: { type: 'string', value: 'USER[:GROUP]', describe: 'with --export: the user, resolved in the rootfs' },
    force: { type: 'boolean', describe: 'with --bundle: replace the bundle if DIR already holds one' },
    tty: { type: 'boolean', short: 't', describe: 'with --bundle: config.json asks for a terminal' },
    quiet: { type: 'boolean', short: 'q', describe: 'draw no progress' },
  },
  positionals: { min: 1, max: 2 },
  completes: 'file',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const { globals, log, stdout } = context;
    const [given, ref] = [positionals[0]!, positionals[1]];
    // `-` is stdin, as for docker import and docker load.
    const file = given === '-' ? undefined : path.resolve(given);
    const input = (): string | Readable => file ?? process.stdin;
    const image = await import('@oci/image');
    // One line per image made, its names and digest, so a script sees what arrived.
    const lines = await withProgress({ quiet: options.quiet }, context, (onProgress) =>
      interruptible(async (signal): Promise<string[]> => {
        if (!options.export) {
          if (options.bundle || options.cmd || options.env || options.workdir || options.user)
            throw new Error('--bundle, --cmd, --env, --workdir and --user go with --export');
          const store = await openStore(globals);
          try {
            const loaded = await image.load(store, input(), { name: ref, signal, onProgress });
            return loaded.map(({ names, descriptor }) => `${names.join(' ')} ${descriptor.digest}\n`);
          } catch (error) {
            if ((error as { code?: string }).code !== 'ENOIMAGE') throw error;
            throw new Error(`${(error as Error).message}: if it is a filesystem, as docker export writes, import it with oci import --export ${given} REF`);
          }
        }
        const config = {
          Cmd: parseCmd(options.cmd),
          ...(options.env && { Env: options.env }),
          ...(options.workdir && { WorkingDir: options.workdir }),
          ...(options.user && { User: options.user }),
        };
        if (options.bundle) {
          if (ref) throw new Error('give either REF (an image) or --bundle DIR, not both');
          const { createBundle } = await import('@oci/bundle');
          const stream = () => image.filesystemTar(file ? createReadStream(file, { highWaterMark: 1 << 20 }) : process.stdin, given);
          await createBundle({ layers: [{ stream, mediaType: image.MediaType.ociLayer, ...(file && { size: statSync(file).size }) }] }, options.bundle, {
            config: image.exportConfig(config),
            force: options.force,
            tty: options.tty,
            signal,
            onProgress: unpackListener(onProgress),
            onSkip: (item) => log.warn(`skipped ${item.what} ${item.path}: ${item.reason}`),
          });
          return [];
        }
        if (!ref) throw new Error('--export needs a REF to name the image, or --bundle DIR');
        const store = await openStore(globals);
        const descriptor = await image.importDockerExport(store, input(), ref, config, { signal, onProgress });
        return [`${image.parseReference(ref).toString()} ${descriptor.digest}\n`];
      }),
    );
    for (const line of lines) stdout.write(line);
  },
});

function parseCmd(cmd: string | undefined): string[] {
  if (cmd === undefined) return ['sh'];
  if (!cmd.trim().startsWith('[')) return cmd.split(/\s+/).filter(Boolean);
  const parsed: unknown = JSON.parse(cmd);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`--cmd: expected a JSON array of strings, got ${cmd}`);
  return parsed;
}
