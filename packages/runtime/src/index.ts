// The runtime library's public API (the runc-compatible container lifecycle).
export {};
