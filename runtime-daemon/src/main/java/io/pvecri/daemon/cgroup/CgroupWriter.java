package io.pvecri.daemon.cgroup;

import java.nio.file.Path;

/** Writes one value to one cgroup interface file; a seam so tests can observe write order. */
@FunctionalInterface
interface CgroupWriter {

    void write(Path file, String value) throws CgroupException;

    /** The real writer: {@link CgroupFiles#write}. */
    static CgroupWriter files() {
        return CgroupFiles::write;
    }
}
