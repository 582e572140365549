package io.pvecri.image;

/** Bounds on untrusted input; anything beyond them is rejected as an invalid image. */
final class Limits {
    /** index.json, manifests, configs, docker manifest.json. */
    static final long MAX_JSON_BYTES = 4L * 1024 * 1024;
    static final int MAX_LAYERS = 1000;
    static final int MAX_INDEX_ENTRIES = 1000;
    static final int MAX_INDEX_DEPTH = 4;
    /** Tar entry names and link targets, in UTF-8 bytes. */
    static final int MAX_TAR_NAME_BYTES = 4096;
    /** GNU long-name/long-link and PAX header entries, read into memory by the tar reader. */
    static final long MAX_TAR_METADATA_ENTRY_BYTES = 1024 * 1024;
    /** Entries of an image archive (the outer tar, not a layer). */
    static final int MAX_ARCHIVE_ENTRIES = 100_000;

    private Limits() {
    }
}
