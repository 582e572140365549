package io.pvecri.daemon.cgroup;

import java.nio.file.Path;

/** Where one controller of a process lives: a v1 hierarchy directory or the unified one. */
sealed interface ControllerDir {

    Path path();

    /** A directory in a v1 hierarchy: v1 file names ({@code memory.limit_in_bytes}). */
    record V1(Path path) implements ControllerDir {
    }

    /** A directory in the unified hierarchy: v2 file names ({@code memory.max}). */
    record V2(Path path) implements ControllerDir {
    }
}
