import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { print } from '../print.js';
import { canPrompt, prompt, readStdin } from '../prompt.js';
import { connectionOptions, toRegistryOptions } from '../registry-options.js';

export default defineCommand({
  usage: '[options] REGISTRY[/NAMESPACE]',
  options: {
    username: { type: 'string', short: 'u', value: 'USER', describe: 'the user (default: asked on the terminal)' },
    'password-stdin': { type: 'boolean', describe: 'read the password from stdin' },
    password: { type: 'string', short: 'p', value: 'PASSWORD', describe: 'the password (visible to other users in ps: prefer --password-stdin)' },
    ...connectionOptions,
  },
  positionals: { min: 1, max: 1 },
  async run({ options, positionals }, context) {
    const { log } = context;
    if (options.password !== undefined && options['password-stdin']) throw new UsageError('give --password or --password-stdin, not both', 'login');
    if (options['password-stdin'] && options.username === undefined) throw new UsageError('--password-stdin needs --username', 'login');
    if (options.password !== undefined) log.warn('a password on the command line is visible to other users: prefer --password-stdin');
    const { checkCredentials, login, parseLoginTarget, storedCredentials } = await import('@oci/image/registry/login');
    const target = parseLoginTarget(positionals[0]!);
    const registry = toRegistryOptions(options, context);
    let username = options.username;
    let password = options['password-stdin'] ? await readStdin() : options.password;
    if (username === undefined && password === undefined) {
      // As podman: stored credentials that still work need no new ones.
      const stored = await storedCredentials(target, registry);
      if (stored && (await accepted(() => checkCredentials(target, stored, registry)))) {
        print(`Already logged in to ${target.key} (credentials from ${stored.source})\n`);
        return;
      }
      if (stored) log.warn(`${target.registry} refused the stored credentials (from ${stored.source}): give new ones`);
    }
    username ??= await ask('Username: ', {});
    password ??= await ask('Password: ', { secret: true });
    if (username === '') throw new UsageError('the username is empty', 'login');
    await login(target, { username, password }, registry);
    print('Login Succeeded!\n');
  },
});

async function ask(question: string, { secret = false }): Promise<string> {
  if (!canPrompt()) throw new UsageError(`needs --username and --password-stdin (stdin is not a terminal to ask on)`, 'login');
  return prompt(question, { secret });
}

/** Whether the registry accepts the credentials; other failures (the network) are thrown. */
async function accepted(check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'EAUTH') return false;
    throw error;
  }
}
