package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.util.FileTrees;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The overlay upper dirs {@code <containersDir>/<id>/upper} of the formats whose containers write
 * to one ({@link DirFormat}, {@link RawFormat}): each container's writable layer.
 */
final class UpperDirs {
    private final Path containersDir;

    UpperDirs(Path containersDir) {
        this.containersDir = containersDir;
    }

    Path path(String containerId) {
        return containersDir.resolve(containerId).resolve("upper");
    }

    /** Creates the container's upper dir (and its parents); returns it. */
    Path create(String containerId) throws RootfsException {
        Path upper = path(containerId);
        try {
            Files.createDirectories(upper);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.classify(String.valueOf(e.getMessage())),
                    "cannot create the upper dir " + upper + ": " + e.getMessage(), e);
        }
        return upper;
    }

    /** Deletes the container's upper dir with all it holds; one that does not exist is fine. */
    void delete(String containerId) throws RootfsException {
        try {
            FileTrees.deleteRetrying(path(containerId));
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED,
                    "cannot delete the upper dir of container " + containerId + ": " + e.getMessage(), e);
        }
    }

    FileTrees.Usage usage(String containerId) {
        return FileTrees.usage(path(containerId));
    }
}
