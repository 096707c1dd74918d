/** Annotations on index.json entries that are not the image-spec's own. */

/** containerd's (and Docker's, in what `docker save` writes) annotation for an image's full name in index.json. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/**
 * Our annotation on an index.json entry: when the image was pulled (RFC 3339). The newest one is
 * the image `oci unpack` takes when given no reference.
 */
export const PULLED_ANNOTATION = 'dev.oci-toolkit.pulled';
