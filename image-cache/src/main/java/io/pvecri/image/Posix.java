package io.pvecri.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few Linux calls the JDK does not offer, through the FFM API: {@code mknod} (device nodes
 * and FIFOs), {@code lsetxattr} (any namespace, binary values) and {@code syncfs}. Needs
 * {@code --enable-native-access=ALL-UNNAMED} to run without a JDK warning.
 */
final class Posix {

    static final int S_IFIFO = 0010000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;
    static final int EPERM = 1;
    static final int ENOTSUP = 95;

    private static final int O_RDONLY = 0;
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int O_CLOEXEC = 02000000;

    private Posix() {
    }

    /** An errno-carrying failure of a native call. */
    static final class NativeException extends IOException {
        private final int errno;

        NativeException(String call, Path path, int errno, String text) {
            super(call + "(" + path + ") failed: " + text + " (errno " + errno + ")");
            this.errno = errno;
        }

        int errno() {
            return errno;
        }
    }

    /** Creates a FIFO or device node; {@code type} is one of the S_IF* constants. */
    static void mknod(Path path, int type, int permissions, int major, int minor) throws IOException {
        long dev = makedev(major, minor);
        call("mknod", path, (arena, state, p) ->
                (int) Native.get().mknod.invokeExact(state, p, type | (permissions & 07777), dev));
    }

    /** Sets an extended attribute on the path itself (never following a final symlink). */
    static void lsetxattr(Path path, String name, byte[] value) throws IOException {
        call("lsetxattr", path, (arena, state, p) -> {
            MemorySegment n = arena.allocateFrom(name);
            MemorySegment v = arena.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            return (int) Native.get().lsetxattr.invokeExact(state, p, n, v, (long) value.length, 0);
        });
    }

    /**
     * Sets access and modification times of the path itself without opening it (the JDK opens
     * the file, which blocks on FIFOs and has side effects on device nodes) and without
     * following a final symlink.
     */
    static void lutimes(Path path, java.nio.file.attribute.FileTime atime, java.nio.file.attribute.FileTime mtime)
            throws IOException {
        call("utimensat", path, (arena, state, p) -> {
            MemorySegment times = arena.allocate(JAVA_LONG, 4);
            java.time.Instant a = atime.toInstant();
            java.time.Instant m = mtime.toInstant();
            times.setAtIndex(JAVA_LONG, 0, a.getEpochSecond());
            times.setAtIndex(JAVA_LONG, 1, a.getNano());
            times.setAtIndex(JAVA_LONG, 2, m.getEpochSecond());
            times.setAtIndex(JAVA_LONG, 3, m.getNano());
            return (int) Native.get().utimensat.invokeExact(state, AT_FDCWD, p, times, AT_SYMLINK_NOFOLLOW);
        });
    }

    /** Flushes the whole filesystem containing {@code path} to disk. */
    static void syncfs(Path path) throws IOException {
        int fd = call("open", path, (arena, state, p) ->
                (int) Native.get().open.invokeExact(state, p, O_RDONLY | O_CLOEXEC));
        try {
            call("syncfs", path, (arena, state, p) -> (int) Native.get().syncfs.invokeExact(state, fd));
        } finally {
            try {
                call("close", path, (arena, state, p) -> (int) Native.get().close.invokeExact(state, fd));
            } catch (IOException ignored) {
                // nothing to do about a failing close of a read-only descriptor
            }
        }
    }

    static long makedev(int major, int minor) {
        long ma = Integer.toUnsignedLong(major);
        long mi = Integer.toUnsignedLong(minor);
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    @FunctionalInterface
    private interface NativeCall {
        int invoke(Arena arena, MemorySegment callState, MemorySegment path) throws Throwable;
    }

    private static int call(String name, Path path, NativeCall body) throws IOException {
        Native n;
        try {
            n = Native.get();
        } catch (RuntimeException | LinkageError e) {
            throw new IOException(name + "(" + path + "): native access unavailable: " + e, e);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(n.captureLayout);
            MemorySegment p = arena.allocateFrom(path.toString());
            int rc;
            try {
                rc = body.invoke(arena, state, p);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException(name + "(" + path + ") failed: " + t, t);
            }
            if (rc < 0) {
                int errno = (int) n.errno.get(state, 0L);
                throw new NativeException(name, path, errno, n.strerror(errno));
            }
            return rc;
        }
    }

    /** Linked lazily so that merely loading the class never needs native access. */
    @SuppressWarnings("restricted")
    private static final class Native {
        private static volatile Native instance;

        final StructLayout captureLayout;
        final VarHandle errno;
        final MethodHandle mknod;
        final MethodHandle lsetxattr;
        final MethodHandle utimensat;
        final MethodHandle open;
        final MethodHandle syncfs;
        final MethodHandle close;
        private final MethodHandle strerror;

        private Native() {
            Linker linker = Linker.nativeLinker();
            Linker.Option errnoOption = Linker.Option.captureCallState("errno");
            captureLayout = Linker.Option.captureStateLayout();
            errno = captureLayout.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
            var lookup = linker.defaultLookup();
            mknod = linker.downcallHandle(lookup.find("mknod").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG), errnoOption);
            lsetxattr = linker.downcallHandle(lookup.find("lsetxattr").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT), errnoOption);
            utimensat = linker.downcallHandle(lookup.find("utimensat").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), errnoOption);
            open = linker.downcallHandle(lookup.find("open").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), errnoOption);
            syncfs = linker.downcallHandle(lookup.find("syncfs").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT), errnoOption);
            close = linker.downcallHandle(lookup.find("close").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT), errnoOption);
            strerror = linker.downcallHandle(lookup.find("strerror").orElseThrow(),
                    FunctionDescriptor.of(ADDRESS, JAVA_INT));
        }

        static Native get() {
            Native n = instance;
            if (n == null) {
                synchronized (Native.class) {
                    n = instance;
                    if (n == null) {
                        n = new Native();
                        instance = n;
                    }
                }
            }
            return n;
        }

        String strerror(int errno) {
            try {
                MemorySegment s = (MemorySegment) strerror.invokeExact(errno);
                return s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                return "error";
            }
        }
    }
}
