package io.pvecri.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Paths of the store under its root:
 * <pre>
 * blobs/sha256/&lt;hex&gt;        verified content
 * images/&lt;hex&gt;/image.json   record (atomic writes)
 * images/&lt;hex&gt;/rootfs/      unpacked layers, read-only for callers
 * tmp/                       work in progress, wiped at open
 * lock                       held while a process has the store open
 * </pre>
 */
record StoreLayout(Path root) {

    static final String RECORD_FILE = "image.json";
    static final String ROOTFS_DIR = "rootfs";

    Path blobs() {
        return root.resolve("blobs").resolve(Digest.ALGORITHM);
    }

    Path images() {
        return root.resolve("images");
    }

    Path tmp() {
        return root.resolve("tmp");
    }

    Path lockFile() {
        return root.resolve("lock");
    }

    Path imageDir(String hex) {
        return images().resolve(hex);
    }

    Path recordFile(String hex) {
        return imageDir(hex).resolve(RECORD_FILE);
    }

    Path rootfs(String hex) {
        return imageDir(hex).resolve(ROOTFS_DIR);
    }

    /** A fresh private directory under tmp/. */
    Path newWorkDir(String purpose) throws IOException {
        return Files.createDirectory(tmp().resolve(purpose + "-" + UUID.randomUUID()));
    }

    void create() throws IOException {
        Files.createDirectories(blobs());
        Files.createDirectories(images());
        Files.createDirectories(tmp());
    }
}
