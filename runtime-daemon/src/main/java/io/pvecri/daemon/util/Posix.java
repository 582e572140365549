package io.pvecri.daemon.util;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The few libc calls the JDK lacks, through java.lang.foreign: a non-blocking write to a FIFO
 * (the shim's control pipe: a plain Java open would block forever if the shim is gone) and
 * kill(2). errno is captured with the linker's captureCallState.
 */
public final class Posix {
    private static final int O_WRONLY = 1;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    private static final int O_NOFOLLOW = 0400000;
    private static final int ENXIO = 6;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final java.lang.foreign.StructLayout STATE = Linker.Option.captureStateLayout();
    private static final java.lang.invoke.VarHandle ERRNO_HANDLE =
            STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), ERRNO);
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().find("write").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), ERRNO);
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle KILL = LINKER.downcallHandle(LINKER.defaultLookup().find("kill").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO);

    private Posix() {}

    /** What happened to a FIFO write. */
    public enum FifoWrite { WRITTEN, NO_READER }

    /**
     * Writes {@code line} to the FIFO at {@code fifo} without ever blocking: when nobody holds the
     * read end (the shim has exited) the answer is {@link FifoWrite#NO_READER}.
     */
    public static FifoWrite writeFifo(Path fifo, String line) throws IOException {
        byte[] data = line.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(fifo.toString()), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) {
                int errno = (int) ERRNO_HANDLE.get(state, 0L);
                if (errno == ENXIO || errno == 2 /* ENOENT */) {
                    return FifoWrite.NO_READER;
                }
                throw new IOException("open " + fifo + " failed: errno " + errno);
            }
            try {
                MemorySegment buf = arena.allocate(data.length);
                MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
                long n = (long) WRITE.invokeExact(state, fd, buf, (long) data.length);
                if (n != data.length) {
                    throw new IOException("write to " + fifo + " failed: errno " + (int) ERRNO_HANDLE.get(state, 0L));
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
            return FifoWrite.WRITTEN;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("native call failed", t);
        }
    }

    /** kill(2); returns false when the process does not exist (ESRCH). */
    public static boolean kill(long pid, int signal) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(STATE);
            int r = (int) KILL.invokeExact(state, (int) pid, signal);
            if (r == 0) {
                return true;
            }
            int errno = (int) ERRNO_HANDLE.get(state, 0L);
            if (errno == 3 /* ESRCH */) {
                return false;
            }
            throw new IOException("kill(" + pid + ", " + signal + ") failed: errno " + errno);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("native call failed", t);
        }
    }
}
