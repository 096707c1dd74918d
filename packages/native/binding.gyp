{
  "variables": {
    "with_isal%": "<!(node -p \"+require('fs').existsSync('/usr/include/isa-l/igzip_lib.h')\")"
  },
  "targets": [
    {
      "target_name": "oci_native",
      "sources": ["src/addon/addon.cc", "src/addon/fs.cc", "src/addon/resolve.cc", "src/addon/overlay.cc", "src/addon/xattr.cc", "src/addon/process.cc", "src/addon/terminal.cc", "src/addon/bpf.cc", "src/addon/seccomp.cc", "src/addon/digest.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # An addon call in a worker that is being terminated (the inflater, when an unpack fails)
      # cannot throw: without SWALLOW, node-addon-api aborts the whole process instead.
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-l:libseccomp.a", "-Wl,--exclude-libs,ALL"],
      "conditions": [
        ["with_isal==1", { "sources": ["src/addon/inflate.cc"], "defines": ["OCI_WITH_ISAL"] }]
      ]
    },
    {
      "target_name": "oci-helper",
      "type": "executable",
      "sources": [
        "src/helper/main.c",
        "src/helper/plan.c",
        "src/helper/report.c",
        "src/helper/paths.c",
        "src/helper/cgroups.c",
        "src/helper/namespaces.c",
        "src/helper/mounts.c",
        "src/helper/copy.c",
        "src/helper/devices.c",
        "src/helper/console.c",
        "src/helper/process.c",
        "src/helper/credentials.c",
        "src/helper/start.c",
        "src/helper/keyring.c",
        "src/helper/state.c",
        "src/helper/seccomp.c",
        "src/helper/hooks.c",
        "src/helper/userns.c",
        "src/helper/lifeline.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffunction-sections", "-fdata-sections"],
      "ldflags": ["-static", "-s", "-Wl,--gc-sections"]
    },
    {
      # The `oci` executable's front door (src/front-door/front-door.h); the CLI's build puts it
      # in packages/cli/bin beside oci.cjs, its JS entry. Static like the helper: no dynamic
      # loader at each start, json-c and nettle (sha256, for unpack.c) linked in.
      "target_name": "oci-front-door",
      "type": "executable",
      "sources": ["src/front-door/main.c", "src/front-door/container.c", "src/front-door/verbs.c", "src/front-door/report.c", "src/front-door/recipe.c", "src/front-door/unpack.c", "src/front-door/run-recipe.c", "src/front-door/run.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffunction-sections", "-fdata-sections"],
      "ldflags": ["-static", "-s", "-Wl,--gc-sections"],
      "libraries": ["-l:libjson-c.a", "-l:libnettle.a"]
    }
  ]
}
