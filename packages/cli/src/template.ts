/**
 * `--format TEMPLATE` (oci inspect, oci images): the part of Go's text/template that podman and
 * docker users type, over the command's JSON. No npm library covers it (the one that parses Go
 * templates lacks json, index and Go's printing), so this is a small documented subset:
 *
 *   {{.Config.Env}}            a field path; `.` is the whole value. A field not found exactly is
 *                              matched ignoring case (`{{.ID}}` finds `id`)
 *   {{json .Config}}           functions: json, index X KEY…, join LIST SEP, len, upper, lower
 *   {{.Config.Env | json}}     a pipe passes its value as the next function's last argument
 *   {{range .RepoTags}}{{.}}\n{{end}}, {{if .Labels}}…{{else}}…{{end}}
 *   {{- …}} and {{… -}}        trim the white space before or after
 *
 * Values print as Go prints them: lists as [a b], maps as map[k:v] (keys sorted), a missing
 * field as <no value>, null as <nil>. `\n` and `\t` in the template are a newline and a tab,
 * as podman takes them.
 */

export class TemplateError extends Error {
  readonly code = 'ETEMPLATE';
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; pipeline: Command[] }
  | { kind: 'range' | 'if'; pipeline: Command[]; body: Node[]; otherwise: Node[] };

/** A function and its arguments, or a lone operand (name undefined). */
interface Command {
  name?: string;
  args: Operand[];
}

type Operand = { kind: 'path'; path: string[] } | { kind: 'literal'; value: string | number };

const FUNCTIONS: Readonly<Record<string, (...args: unknown[]) => unknown>> = {
  json: (value) => JSON.stringify(value),
  index: (value, ...keys) =>
    keys.reduce((current, key) => (isObject(current) || Array.isArray(current) ? (current as Record<string, unknown>)[String(key)] : undefined), value),
  join: (list, separator) => (Array.isArray(list) ? list.map(show).join(String(separator)) : show(list)),
  len: (value) => (Array.isArray(value) || typeof value === 'string' ? value.length : isObject(value) ? Object.keys(value).length : 0),
  upper: (value) => show(value).toUpperCase(),
  lower: (value) => show(value).toLowerCase(),
};

/** Whether a --format value is a template rather than a format's name. */
export const isTemplate = (format: string) => format.includes('{{');

export function compileTemplate(source: string): (data: unknown) => string {
  const nodes = parse(source.replace(/\\n/g, '\n').replace(/\\t/g, '\t'));
  return (data) => render(nodes, data, data);
}

function parse(source: string): Node[] {
  const root: Node[] = [];
  const stack: { nodes: Node[]; block?: Extract<Node, { body: Node[] }>; inElse?: boolean }[] = [{ nodes: root }];
  const action = /{{(-\s)?\s*(.*?)\s*(\s-)?}}/gs;
  let at = 0;
  let trimNext = false;
  for (const match of source.matchAll(action)) {
    let text = source.slice(at, match.index);
    if (trimNext) text = text.trimStart();
    if (match[1]) text = text.trimEnd();
    if (text) stack.at(-1)!.nodes.push({ kind: 'text', text });
    at = match.index + match[0].length;
    trimNext = Boolean(match[3]);
    const words = match[2]!;
    const keyword = /^(range|if|else|end)\b\s*(.*)$/s.exec(words);
    if (!keyword) {
      stack.at(-1)!.nodes.push({ kind: 'print', pipeline: parsePipeline(words) });
      continue;
    }
    const [, word, rest] = keyword;
    if (word === 'range' || word === 'if') {
      const block = { kind: word, pipeline: parsePipeline(rest!), body: [], otherwise: [] } as Extract<Node, { body: Node[] }>;
      stack.at(-1)!.nodes.push(block);
      stack.push({ nodes: block.body, block });
    } else {
      const top = stack.at(-1)!;
      if (!top.block) throw new TemplateError(`{{${word}}} without {{range}} or {{if}}`);
      if (word === 'end') stack.pop();
      else if (top.inElse) throw new TemplateError('two {{else}} in one block');
      else stack[stack.length - 1] = { nodes: top.block.otherwise, block: top.block, inElse: true };
    }
  }
  if (stack.length > 1) throw new TemplateError(`{{${stack.at(-1)!.block!.kind}}} without {{end}}`);
  const tail = trimNext ? source.slice(at).trimStart() : source.slice(at);
  if (tail.includes('{{')) throw new TemplateError(`unclosed action: ${tail.slice(tail.indexOf('{{'))}`);
  if (tail) root.push({ kind: 'text', text: tail });
  return root;
}

function parsePipeline(text: string): Command[] {
  const commands = splitOutsideQuotes(text, '|').map((part) => {
    const words = splitOutsideQuotes(part.trim(), ' ').filter(Boolean);
    if (words.length === 0) throw new TemplateError(`an empty action in {{${text}}}`);
    const [first, ...rest] = words;
    if (/^[a-z]\w*$/i.test(first!)) {
      if (!Object.hasOwn(FUNCTIONS, first!)) throw new TemplateError(`unknown function '${first}' (known: ${Object.keys(FUNCTIONS).join(', ')})`);
      return { name: first, args: rest.map(parseOperand) };
    }
    if (rest.length > 0) throw new TemplateError(`'${first}' is not a function: {{${text}}}`);
    return { args: [parseOperand(first!)] };
  });
  return commands;
}

function parseOperand(word: string): Operand {
  if (word === '.') return { kind: 'path', path: [] };
  if (/^(\.[\w-]+)+$/.test(word)) return { kind: 'path', path: word.slice(1).split('.') };
  if (/^"(?:[^"\\]|\\.)*"$/.test(word)) return { kind: 'literal', value: JSON.parse(word) as string };
  if (/^-?\d+$/.test(word)) return { kind: 'literal', value: Number(word) };
  throw new TemplateError(`cannot read '${word}': expected .Field.Path, "a string" or a number`);
}

/** Splits on `separator` where it is not inside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && quoted) {
      current += char + (text[++i] ?? '');
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  return [...parts, current];
}

function render(nodes: readonly Node[], dot: unknown, root: unknown): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'print') out += show(evaluate(node.pipeline, dot));
    else if (node.kind === 'if') out += render(truthy(evaluate(node.pipeline, dot)) ? node.body : node.otherwise, dot, root);
    else {
      const items = elements(evaluate(node.pipeline, dot));
      out += items.length > 0 ? items.map((item) => render(node.body, item, root)).join('') : render(node.otherwise, dot, root);
    }
  }
  return out;
}

function evaluate(pipeline: readonly Command[], dot: unknown): unknown {
  let piped: unknown[] = [];
  for (const command of pipeline) {
    const args = [...command.args.map((operand) => (operand.kind === 'literal' ? operand.value : lookup(dot, operand.path))), ...piped];
    piped = [command.name === undefined ? args[0] : FUNCTIONS[command.name]!(...args)];
  }
  return piped[0];
}

function lookup(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    if (Object.hasOwn(current, key)) current = current[key];
    else {
      const found = Object.keys(current).find((other) => other.toLowerCase() === key.toLowerCase());
      current = found === undefined ? undefined : current[found];
    }
  }
  return current;
}

function elements(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value))
    return Object.keys(value)
      .sort()
      .map((key) => value[key]);
  return [];
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** A value as Go's fmt prints it with %v. */
function show(value: unknown): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (isObject(value))
    return `map[${Object.keys(value)
      .sort()
      .map((key) => `${key}:${show(value[key])}`)
      .join(' ')}]`;
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
