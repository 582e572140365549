package io.pvecri.image;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/** Measures the filesystem that holds the image store. */
@FunctionalInterface
public interface DiskUsageSource {

    DiskUsage measure() throws IOException;

    /** statvfs(2) of the filesystem holding {@code path} (through {@link FileStore}). */
    static DiskUsageSource of(Path path) {
        Objects.requireNonNull(path, "path");
        return () -> {
            FileStore fs = Files.getFileStore(path);
            return new DiskUsage(fs.getTotalSpace(), fs.getUsableSpace());
        };
    }
}
