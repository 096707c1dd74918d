// The image library's public API (references, registry client, content store, layer application).
export {};
