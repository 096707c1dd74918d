/*
 * oci-helper: the process that becomes a container's first process.
 *
 * Node is multi-threaded, so it cannot safely clone into new namespaces, setns or pivot_root;
 * this single-threaded helper does that work on a plan the runtime computed and validated.
 */
#include <stdio.h>
#include <string.h>

#define HELPER_VERSION "0.1.0"

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("oci-helper %s\n", HELPER_VERSION);
    return 0;
  }
  fprintf(stderr, "oci-helper: usage: oci-helper --version\n");
  return 2;
}
