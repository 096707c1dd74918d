// V8's code cache for the oci command's files: each dist/…/NAME.cjs is compiled with the
// bytecode V8 saved beside it after an earlier run, which spares the parsing and compiling
// that otherwise cost every command 5-10 ms (measured by `pnpm bench runtime`). V8 checks a
// cache against its own version and flags but only the length of the source, so the cache's
// name carries the file's size and mtime: a rebuilt file never meets an old cache (the build
// removes them). A cache V8 rejects is written again (see below); one that cannot be written (a
// read-only install) is simply not used. The cache holds what the .cjs holds: whoever can
// write it could as well write the code.
// The files are loaded by their known paths, not through require(): Node's resolution stats
// and realpaths every component of a path, ~0.5 ms per file at this cold start.
const fs = require('node:fs');
// The CommonJS loader itself: require('node:module') would also load the ES module loader and
// the source map support behind that public module (~1 ms), which nothing here uses.
const Module = module.constructor;
const path = require('node:path');
const vm = require('node:vm');

/**
 * A loader of dist/NAME.cjs files: `load('oci.cjs')` runs it and returns its exports. With
 * `write: false` no cache is written at exit, only used.
 */
function useCodeCache(dist, { write = true } = {}) {
  const compiled = [];
  const load = (filename, parent) => {
    const cached = Module._cache[filename];
    if (cached) return cached.exports;
    const loaded = new Module(filename, parent);
    loaded.filename = filename;
    loaded.paths = Module._nodeModulePaths(path.dirname(filename));
    Module._cache[filename] = loaded;
    try {
      run(loaded, filename);
    } catch (error) {
      delete Module._cache[filename];
      throw error;
    }
    loaded.loaded = true;
    return loaded.exports;
  };
  const run = (loaded, filename) => {
    const { size, mtimeMs } = fs.statSync(filename);
    const cacheFile = `${filename}.${size}-${Math.trunc(mtimeMs)}.v8cache`;
    let cachedData;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // none yet
    }
    // No import() in these files (bundle.mjs makes them require()): a script compiled from a
    // cache cannot resolve one on Node 20.
    const script = new vm.Script(Module.wrap(fs.readFileSync(filename, 'utf8')), { filename, cachedData });
    if (!cachedData || script.cachedDataRejected) compiled.push({ script, cacheFile });
    const dir = path.dirname(filename);
    // A bundle requires another (a command's file) by its name relative to itself.
    const require = (id) => (id.startsWith('./') && id.endsWith('.cjs') ? load(path.join(dir, id), loaded) : loaded.require(id));
    require.resolve = (request, options) => Module._resolveFilename(request, loaded, false, options);
    require.cache = Module._cache;
    script.runInThisContext().call(loaded.exports, loaded.exports, require, loaded, filename, dir);
  };
  // At exit the functions this run compiled are in the script: the cache holds them too. Only
  // a run that succeeded writes it: an accepted cache is never written again, and one made by
  // an error path (`oci state` of a container that does not exist, as engines ask) or by help
  // would leave every later run compiling what the working path needs (~1-3 ms each time).
  process.once('exit', (status) => {
    if (status !== 0 || !write) return;
    for (const { script, cacheFile } of compiled) {
      const temp = `${cacheFile}.${process.pid}`;
      try {
        fs.writeFileSync(temp, script.createCachedData());
        fs.renameSync(temp, cacheFile);
      } catch {
        fs.rmSync(temp, { force: true });
      }
    }
  });
  return (name) => load(path.join(dist, name), module);
}

module.exports = { useCodeCache };
