import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';

export default defineCommand({
  name: 'images',
  usage: '[options]',
  options: {
    format: { type: 'string', value: 'FORMAT', choices: ['table', 'json'], describe: 'table (default) or json' },
  },
  positionals: { min: 0, max: 0 },
  async run({ options }, { globals, stdout }) {
    const [{ Store }, { listImages }] = await Promise.all([import('@oci/image/store/layout'), import('@oci/image/images')]);
    const images = await listImages(await Store.open(storeDir(globals), { create: true }));
    if (options.format === 'json') {
      stdout.write(`${JSON.stringify(images, null, 2)}\n`);
      return;
    }
    const rows = [
      ['REF', 'DIGEST', 'PLATFORM', 'SIZE', 'CREATED'],
      ...images.map((i) => [i.ref, i.digest.slice(7, 19), i.platform, megabytes(i.size), i.created ?? '']),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
  },
});

function megabytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
