/**
 * Every command, by name, loaded only when it runs (or when help lists them all).
 * To add a command: write commands/NAME.ts exporting `defineCommand({...})` as default, list it here.
 */
import type { Command } from '../command.js';

type Loader = () => Promise<{ default: Command<any> }>;

export const commands: Readonly<Record<string, Loader>> = {
  gc: () => import('./gc.js'),
  images: () => import('./images.js'),
  import: () => import('./import.js'),
  inspect: () => import('./inspect.js'),
  pull: () => import('./pull.js'),
  push: () => import('./push.js'),
  rmi: () => import('./rmi.js'),
  spec: () => import('./spec.js'),
  unpack: () => import('./unpack.js'),
};
