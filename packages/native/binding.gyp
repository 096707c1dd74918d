{
  "targets": [
    {
      "target_name": "oci_native",
      "sources": ["src/addon/addon.cc", "src/addon/fs.cc", "src/addon/resolve.cc", "src/addon/xattr.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      "target_name": "oci-helper",
      "type": "executable",
      "sources": ["src/helper/main.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
