import { defineCommand } from '../command.js';
import { checkFormat, renderTemplate } from '../format.js';
import { print } from '../print.js';

export default defineCommand({
  usage: '[options]',
  options: {
    format: { type: 'string', short: 'f', value: 'FORMAT', describe: "json, or a Go template: '{{.Version}}' (default: a line per item)" },
  },
  positionals: { min: 0, max: 0 },
  async run({ options }) {
    checkFormat(options.format, ['json'], 'version');
    const info = await (await import('../version-info.js')).versionInfo();
    if (options.format === 'json') return void print(`${JSON.stringify(info, null, 2)}\n`);
    if (options.format !== undefined) return void print(renderTemplate(options.format, [info], 'version'));
    const rows: [string, string][] = [
      ['Version', info.Version],
      [
        'Packages',
        Object.entries(info.Packages)
          .map(([name, version]) => `${name} ${version}`)
          .join(', '),
      ],
      ['Runtime spec', info.RuntimeSpec],
      ['Node', info.NodeVersion],
      ['libseccomp', info.Libseccomp],
      ['Helper', info.Helper],
      ['OS/Arch', info.OsArch],
    ];
    print(rows.map(([name, value]) => `${`${name}:`.padEnd(14)}${value}\n`).join(''));
  },
});
