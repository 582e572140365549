package io.pvecri.image;

import java.nio.file.Path;
import java.util.Objects;

/** Space used by the image store, as reported through CRI ImageFsInfo. */
public record FsUsage(Path mountpoint, long usedBytes, long inodesUsed) {
    public FsUsage {
        Objects.requireNonNull(mountpoint, "mountpoint");
    }
}
