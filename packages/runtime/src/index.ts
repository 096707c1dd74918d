// The runtime library's public API (the runc-compatible container lifecycle).

export type { ContainerStats } from './cgroups/stats.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export { type ContainerEvent, formatEvent } from './events.js';
export type { ExecOptions, ProcessChanges } from './exec.js';
export { type Features, features } from './features.js';
export { exitStatus } from './foreground.js';
export { generatedId } from './id.js';
export type { RootfsKind } from './image/container-bundle.js';
export type { PullPolicy } from './image/ensure-image.js';
export { type RunImageEvent, type RunImageOptions, type RunImageResult, runImage } from './image/run-image.js';
export { readRunRecord, removeContainerBundle } from './image/run-record.js';
export { parseVolume, type Volume } from './image/run-spec.js';
export type { ProcessExit } from './pidfd.js';
export { describeProcess, type ProcessInfo } from './processes.js';
export { type Container, type ContainerState, type CreateOptions, type DetachedProcess, type RunOptions, Runtime, type RuntimeOptions } from './runtime.js';
export { parseSignal } from './signals.js';
export type { Status } from './state/status.js';
