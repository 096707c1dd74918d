/**
 * `oci completion`: the bash script is sourced into a real bash and asked for completions the
 * way bash's completion asks (COMP_WORDS, COMP_CWORD, then COMPREPLY); zsh runs the same script
 * through bashcompinit; fish's own `complete -C` answers from the fish script. Image names and
 * container IDs come from the store and state root named on the line.
 */

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { testBundle, uniqueId } from './harness/bundle.js';
import { busyboxImage } from './harness/busybox.js';
import { oci, ociBin } from './harness/cli.js';
import { writeLayout } from './harness/images.js';
import { tempDir } from './harness/tmp.js';

const script = (shell: string) => {
  const { dir, remove } = tempDir('completion');
  const file = path.join(dir, `oci.${shell}`);
  const generated = oci(['completion', shell]);
  if (generated.status !== 0) throw new Error(generated.stderr);
  writeFileSync(file, generated.stdout);
  return { file, remove };
};
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** What bash completes the last word of `words` to (the program itself first, as typed). */
function bash(file: string, words: string[]): string[] {
  const line = [ociBin, ...words];
  const program = `source ${quote(file)}\nCOMP_WORDS=(${line.map(quote).join(' ')})\nCOMP_CWORD=${line.length - 1}\n_oci\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.split('\n').filter(Boolean).sort();
}

test("bash: commands, options, choices and paths come from the commands' declarations", (t) => {
  const { file, remove } = script('bash');
  t.teardown(remove);
  t.deepEqual(bash(file, ['pu']), ['pull', 'push']);
  t.deepEqual(bash(file, ['lo']), ['load', 'login', 'logout']);
  t.deepEqual(bash(file, ['--log-format', '']), ['json', 'text']);
  t.deepEqual(bash(file, ['--root', '/tmp', 'com']), ['completion'], "a global option's value is not the command");
  t.deepEqual(bash(file, ['pull', '--pl']), ['--platform']);
  t.deepEqual(bash(file, ['images', '--format', '']), [], 'a template is free text');
  t.deepEqual(bash(file, ['list', '--format', '']), ['json', 'table']);
  t.deepEqual(bash(file, ['completion', '']), ['bash', 'fish', 'zsh']);
  const spec = bash(file, ['spec', '--']);
  t.true(spec.includes('--rootless') && spec.includes('--bundle') && spec.includes('--log-format'));
  t.false(spec.includes('--version'));
  t.deepEqual(bash(file, ['--store', '/', 'pull', '--authfile', '/et']), ['/etc']);
  t.deepEqual(bash(file, ['spec', '--bundle', '/pro']), ['/proc']);
});

test("bash: an image argument completes to the store's names, a container argument to the state root's IDs", async (t) => {
  const { file, remove } = script('bash');
  t.teardown(remove);
  const store = tempDir('store');
  t.teardown(store.remove);
  writeLayout(store.dir, { 'example.com/team/app:1': await busyboxImage() });
  t.deepEqual(bash(file, ['--store', store.dir, 'inspect', '']), ['example.com/team/app:1']);
  t.deepEqual(bash(file, ['--store', store.dir, 'tag', 'example.com/team/app:1', '']), [], 'only the first argument');

  const root = tempDir('root');
  t.teardown(root.remove);
  const bundle = await testBundle(t, ['sleep', '100']);
  const id = uniqueId('completion');
  // No pipes: the container's process would hold them open.
  const created = oci(['--root', root.dir, 'create', '--bundle', bundle.dir, id], { stdio: 'ignore' });
  t.is(created.status, 0);
  t.teardown(() => oci(['--root', root.dir, 'delete', '--force', id]));
  t.deepEqual(bash(file, ['--root', root.dir, 'state', '']), [id]);
  t.deepEqual(bash(file, ['--root', root.dir, 'kill', '--all', '']), [id]);
});

test('zsh: the bash script, through bashcompinit (whose compgen leaves matching what is typed to zsh)', (t) => {
  const { file, remove } = script('zsh');
  t.teardown(remove);
  const zsh = (words: string[]) => {
    const program = `setopt ksharrays\nsource ${quote(file)}\nCOMP_WORDS=(${['oci', ...words].map(quote).join(' ')})\nCOMP_CWORD=${words.length}\n_oci\nprint -l "\${COMPREPLY[@]}"`;
    const result = spawnSync('zsh', ['-f', '-c', program], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout.split('\n').filter(Boolean).sort();
  };
  t.deepEqual(
    zsh(['pu']),
    oci(['--help'])
      .stdout.split('Commands:\n')[1]!
      .split('\n\n')[0]!
      .split('\n')
      .map((line) => line.trim().split(' ')[0]!)
      .sort(),
  );
  t.deepEqual(zsh(['--log-format', '']), ['json', 'text']);
  t.deepEqual(zsh(['list', '--format', 'j']), ['json', 'table']);
});

test('fish: complete -C answers from the generated script', (t) => {
  const { file, remove } = script('fish');
  t.teardown(remove);
  const ask = (line: string) => {
    const result = spawnSync('fish', ['--no-config', '-c', `source ${quote(file)}; complete -C ${quote(line)}`], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((row) => row.split('\t')[0])
      .sort();
  };
  t.deepEqual(ask('oci pu'), ['pull', 'push']);
  t.deepEqual(ask('oci pull --pl'), ['--platform']);
  t.deepEqual(ask('oci --log-format '), ['json', 'text']);
  t.deepEqual(ask('oci spec --root'), ['--rootless']);
  t.deepEqual(ask('oci state --ro'), ['--root', '--rootless-runtime'], 'the global options it uses');
});
