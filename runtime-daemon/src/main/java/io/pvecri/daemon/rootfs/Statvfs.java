package io.pvecri.daemon.rootfs;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * statvfs(3) through java.lang.foreign, for the inode count of a mounted file system (the JDK's
 * FileStore has only bytes). Layout of glibc's struct statvfs on 64-bit Linux: eleven 8-byte
 * fields (bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax) and
 * six ints of padding.
 */
final class Statvfs {
    private static final long SIZE = 11 * 8 + 6 * 4;
    private static final long FILES = 5 * 8;
    private static final long FFREE = 6 * 8;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle STATVFS = LINKER.downcallHandle(LINKER.defaultLookup().find("statvfs").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));

    private Statvfs() {}

    /** Inodes (objects) in use on the file system mounted at {@code path}, or -1 when it cannot be read. */
    static long inodesUsed(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(SIZE, 8);
            int r = (int) STATVFS.invokeExact(arena.allocateFrom(path.toString()), buf);
            if (r != 0) {
                return -1;
            }
            return buf.get(ValueLayout.JAVA_LONG, FILES) - buf.get(ValueLayout.JAVA_LONG, FFREE);
        } catch (Throwable t) {
            return -1;
        }
    }
}
