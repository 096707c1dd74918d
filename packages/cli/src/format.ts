/** `--format` of the commands that list or show store content: a format's name, or a template (template.ts). */
import { UsageError } from './args.js';
import { compileTemplate, isTemplate, TemplateError } from './template.js';

/** Renders each item with the template `format`, one per line, as podman does. */
export function renderTemplate(format: string, items: readonly unknown[], command: string): string {
  let template: (data: unknown) => string;
  try {
    template = compileTemplate(format);
  } catch (error) {
    if (error instanceof TemplateError) throw new UsageError(`--format: ${error.message}`, command);
    throw error;
  }
  return items.map((item) => `${template(item)}\n`).join('');
}

/** Checks a --format value: one of `names`, or a template. */
export function checkFormat(format: string | undefined, names: readonly string[], command: string): void {
  if (format !== undefined && !names.includes(format) && !isTemplate(format)) {
    throw new UsageError(`--format must be one of ${names.join(', ')} or a Go template like '{{.ID}}' (got '${format}')`, command);
  }
}
