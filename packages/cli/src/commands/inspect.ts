import { defineCommand } from '../command.js';
import { checkFormat, renderTemplate } from '../format.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options] IMAGE',
  options: {
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to show when IMAGE names a multi-platform index (default: this host's)" },
    format: {
      type: 'string',
      short: 'f',
      value: 'FORMAT',
      describe: "json (default), or a Go template as podman takes it: '{{.Config.Env}}', '{{json .Config}}'",
    },
  },
  positionals: { min: 1, max: 1 },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, { globals, stdout }) {
    checkFormat(options.format, ['json'], 'inspect');
    const [{ inspectImage }, { parsePlatform }] = await Promise.all([import('@oci/image/images'), import('@oci/image/platform')]);
    const store = await openStore(globals, { create: false });
    const image = await inspectImage(store, positionals[0]!, ...(options.platform ? [parsePlatform(options.platform)] : []));
    stdout.write(
      options.format === undefined || options.format === 'json' ? `${JSON.stringify(image, null, 2)}\n` : renderTemplate(options.format, [image], 'inspect'),
    );
  },
});
