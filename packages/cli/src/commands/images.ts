import { defineCommand } from '../command.js';
import { checkFormat, renderTemplate } from '../format.js';
import { openStore } from '../store.js';
import { megabytes, table } from '../table.js';

export default defineCommand({
  usage: '[options]',
  options: {
    format: { type: 'string', value: 'FORMAT', describe: "table (default), json, or a Go template: '{{.Ref}} {{.ID}}'" },
    quiet: { type: 'boolean', short: 'q', describe: 'print only the image IDs, once each (what oci inspect, tag and rmi take)' },
  },
  positionals: { min: 0, max: 0 },
  uses: ['store'],
  async run({ options }, { globals, stdout }) {
    checkFormat(options.format, ['table', 'json'], 'images');
    const { listImages } = await import('@oci/image/images');
    const images = await listImages(await openStore(globals));
    if (options.quiet) {
      stdout.write([...new Set(images.map((i) => `${shortId(i.id)}\n`))].join(''));
    } else if (options.format === 'json') {
      stdout.write(`${JSON.stringify(images, null, 2)}\n`);
    } else if (options.format !== undefined && options.format !== 'table') {
      stdout.write(renderTemplate(options.format, images, 'images'));
    } else {
      const rows = [
        ['REF', 'ID', 'DIGEST', 'PLATFORM', 'SIZE', 'CREATED'],
        ...images.map((i) => [i.ref, shortId(i.id), shortId(i.digest), i.platform, megabytes(i.size), i.created ?? '']),
      ];
      stdout.write(table(rows));
    }
  },
});

/** The first 12 hex digits, as docker and podman show IDs. */
const shortId = (digest: string) => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
