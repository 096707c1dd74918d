/**
 * The state root (--root, default /run/oci): a directory per container holding state.json,
 * the start socket, and a lock (flock on the directory itself). A container directory without
 * state.json is one being created, or what a killed create left: its creating.json, written
 * before create makes anything that needs undoing, names what that is (cgroups, the rootfs
 * bind), and delete --force undoes it.
 *
 * The `oci` executable's front door (packages/native/src/front-door/container.c) reads these
 * files too, for the engines' hot calls: a field it reads (id, pid, startTime, cgroup, hooks,
 * hostMount, the state's strings) changed here fails test/front-door.test.ts.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { requireAddon } from '@oci/native';
import type { Hooks } from '@oci/specs';
import type { CgroupRecord } from '../cgroups/cgroup.js';
import { notFound, RuntimeError } from '../errors.js';
import type { HostMount } from '../host-mount.js';

/** What the runtime remembers about a container between commands. */
export interface StoredState {
  ociVersion: string;
  id: string;
  /** The container's first process, as seen from the host. */
  pid: number;
  /** Its start time (/proc/PID/stat field 22), which tells it from a later process with its pid. */
  startTime: string;
  bundle: string;
  rootfs: string;
  /** ISO 8601. */
  created: string;
  annotations: Record<string, string>;
  cgroup: CgroupRecord;
  /** What start and delete run (the create-phase hooks ran already). */
  hooks?: Pick<Hooks, 'poststart' | 'poststop'>;
  /** The rootfs bind of a container in the host's mount namespace, detached on delete. */
  hostMount?: HostMount;
}

export const START_SOCKET = 'start.sock';
/** Compiled seccomp filters, in the state root ('@' is not in a container id's alphabet). */
const SECCOMP_CACHE = '@seccomp';
const STATE_FILE = 'state.json';
const CREATING_FILE = 'creating.json';
const LOCK_TIMEOUT_MS = 30_000;

export interface Lock {
  release(): void;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  startSocket(id: string): string {
    return path.join(this.dir(id), START_SOCKET);
  }

  seccompCacheDir(): string {
    return path.join(this.root, SECCOMP_CACHE);
  }

  /** Makes the container's directory (failing if the id is taken) and locks it. */
  async reserve(id: string): Promise<Lock> {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('EEXIST', `container ${id} already exists`);
      throw error;
    }
    return this.lock(id);
  }

  /** Waits for the container's lock: one command at a time changes a container. */
  async lock(id: string): Promise<Lock> {
    let fd: number;
    try {
      fd = openSync(this.dir(id), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(id);
      throw error;
    }
    const { tryLock } = requireAddon();
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let delay = 1; !tryLock(fd); delay = Math.min(delay * 2, 50)) {
      if (Date.now() > deadline) {
        closeSync(fd);
        throw new RuntimeError('ESTATE', `container ${id} is busy: another command holds its lock`);
      }
      await setTimeout(delay);
    }
    return { release: () => closeSync(fd) };
  }

  /** The state of a created container; ENOTFOUND for one whose create has not finished. */
  read(id: string): StoredState {
    const state = this.#read(id, STATE_FILE);
    if (!state) throw notFound(id);
    return state;
  }

  /**
   * What a create that has not finished recorded, if anything: the state without a pid (0), as
   * the container's process is recorded only in state.json; until then it dies with the create.
   */
  readCreating(id: string): StoredState | undefined {
    return this.#read(id, CREATING_FILE);
  }

  /** The container's state once created; what its create recorded before goes. */
  write(state: StoredState): void {
    this.#write(state, STATE_FILE);
    unlinkSync(path.join(this.dir(state.id), CREATING_FILE));
  }

  /** Recorded by create before it makes anything delete --force would have to undo. */
  writeCreating(state: StoredState): void {
    this.#write(state, CREATING_FILE);
  }

  #read(id: string, name: string): StoredState | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.dir(id), name), 'utf8')) as StoredState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /** Written whole or not at all (a reader never sees half a file). */
  #write(state: StoredState, name: string): void {
    const file = path.join(this.dir(state.id), name);
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  }

  /**
   * A container's directory holds files only: they are unlinked one by one (rmSync's recursive
   * mode would load Node's rimraf module, ~0.4 ms on every delete); anything else goes to rmSync.
   */
  remove(id: string): void {
    const dir = this.dir(id);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      for (const name of names) unlinkSync(path.join(dir, name));
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Ids of the containers whose creation finished. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((name) => existsSync(path.join(this.root, name, STATE_FILE))).sort();
  }
}
