// The runtime library's public API (the runc-compatible container lifecycle).
export { Runtime, type Container, type ContainerState, type CreateOptions, type DetachedProcess, type RunOptions, type RuntimeOptions } from './runtime.js';
export type { ExecOptions, ProcessChanges } from './exec.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export { describeProcess, type ProcessInfo } from './processes.js';
export { parseSignal } from './signals.js';
export type { ProcessExit } from './pidfd.js';
export { exitStatus } from './foreground.js';
export type { Status } from './state/status.js';
export { formatEvent, type ContainerEvent } from './events.js';
export type { ContainerStats } from './cgroups/stats.js';
export { features, type Features } from './features.js';
export { generatedId } from './id.js';
export { runImage, type RunImageEvent, type RunImageOptions, type RunImageResult } from './image/run-image.js';
export { parseVolume, type Volume } from './image/run-spec.js';
export type { RootfsKind } from './image/container-bundle.js';
export { removeContainerBundle, readRunRecord } from './image/run-record.js';
export type { PullPolicy } from './image/ensure-image.js';
