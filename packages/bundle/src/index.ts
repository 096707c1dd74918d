export * from './runtime-spec.js';
export { defaultSpec } from './default-spec.js';
