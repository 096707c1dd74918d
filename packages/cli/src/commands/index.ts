/**
 * Every command, by name, loaded only when it runs (or when help lists them all).
 * To add a command: write commands/NAME.ts exporting `defineCommand({...})` as default, list it here.
 */
import type { Command } from '../command.js';

type Loader = () => Promise<{ default: Command<any> }>;

export const commands: Readonly<Record<string, Loader>> = {
  checkpoint: () => import('./checkpoint.js'),
  create: () => import('./create.js'),
  delete: () => import('./delete.js'),
  events: () => import('./events.js'),
  exec: () => import('./exec.js'),
  features: () => import('./features.js'),
  gc: () => import('./gc.js'),
  images: () => import('./images.js'),
  import: () => import('./import.js'),
  inspect: () => import('./inspect.js'),
  kill: () => import('./kill.js'),
  list: () => import('./list.js'),
  pause: () => import('./pause.js'),
  ps: () => import('./ps.js'),
  pull: () => import('./pull.js'),
  push: () => import('./push.js'),
  resume: () => import('./resume.js'),
  restore: () => import('./restore.js'),
  rmi: () => import('./rmi.js'),
  run: () => import('./run.js'),
  spec: () => import('./spec.js'),
  start: () => import('./start.js'),
  state: () => import('./state.js'),
  unpack: () => import('./unpack.js'),
  update: () => import('./update.js'),
};
