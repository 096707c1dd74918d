import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { print } from '../print.js';
import { connectionOptions } from '../registry-options.js';

export default defineCommand({
  usage: '[options] REGISTRY[/NAMESPACE] | --all',
  options: {
    all: { type: 'boolean', short: 'a', describe: 'remove the credentials of every registry from the auth file' },
    authfile: connectionOptions.authfile,
  },
  positionals: { min: 0, max: 1 },
  async run({ options, positionals }) {
    if (Boolean(options.all) === positionals.length > 0) throw new UsageError('give a REGISTRY or --all', 'logout');
    const { logout, logoutAll, parseLoginTarget } = await import('@oci/image/registry/login');
    const registry = options.authfile === undefined ? {} : { authFile: options.authfile };
    if (options.all) {
      await logoutAll(registry);
      print('Removed login credentials for all registries\n');
      return;
    }
    const target = parseLoginTarget(positionals[0]!);
    await logout(target, registry);
    print(`Removed login credentials for ${target.key}\n`);
  },
});
