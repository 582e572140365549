package io.pvecri.daemon.streaming;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The libc calls the streaming server needs and the JDK lacks, through java.lang.foreign: pipes
 * and a pty master that can be polled with a timeout (so no thread ever blocks for good on a
 * file descriptor), the window size of a pty, and setns(2) for port-forward. errno is captured
 * with the linker's captureCallState.
 */
final class Native {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_NOCTTY = 0400;
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;
    static final int CLONE_NEWNET = 0x40000000;
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int EAGAIN = 11;
    private static final long TIOCSWINSZ = 0x5414;
    private static final long TCGETS = 0x5401;
    static final int ICANON = 0x2;
    private static final long TIOCSPTLCK = 0x40045431L;
    private static final long TIOCGPTN = 0x80045430L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle OPEN = handle("open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), true);
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), false);
    private static final MethodHandle READ = handle("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), true);
    private static final MethodHandle WRITE = handle("write", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), true);
    private static final MethodHandle PIPE2 = handle("pipe2", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), true);
    private static final MethodHandle POLL = handle("poll", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), true);
    private static final MethodHandle SETNS = handle("setns", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), true);
    private static final MethodHandle IOCTL_PTR = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            ERRNO, Linker.Option.firstVariadicArg(2));

    private Native() {}

    private static MethodHandle handle(String name, FunctionDescriptor fd, boolean errno) {
        MemorySegment sym = LINKER.defaultLookup().find(name).orElseThrow();
        return errno ? LINKER.downcallHandle(sym, fd, ERRNO) : LINKER.downcallHandle(sym, fd);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO_HANDLE.get(state, 0L);
    }

    private static IOException fail(String call, int errno) {
        return new IOException(call + " failed: errno " + errno);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("native call failed", t);
    }

    static int open(String path, int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags);
            if (fd < 0) {
                throw new IOException("open " + path + " failed: errno " + errno(st));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void close(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** pipe2(O_CLOEXEC | extra): {read end, write end}. */
    static int[] pipe(int extraFlags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            int r = (int) PIPE2.invokeExact(st, fds, O_CLOEXEC | extraFlags);
            if (r < 0) {
                throw fail("pipe2", errno(st));
            }
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Waits up to {@code timeoutMs} for {@code events} on {@code fd}; returns the revents (0 on
     * timeout or EINTR).
     */
    static int poll(int fd, short events, int timeoutMs) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, events);
            int r = (int) POLL.invokeExact(st, pfd, 1L, timeoutMs);
            if (r < 0) {
                int e = errno(st);
                if (e == EINTR) {
                    return 0;
                }
                throw fail("poll", e);
            }
            return r == 0 ? 0 : pfd.get(ValueLayout.JAVA_SHORT, 6) & 0xffff;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Polls several fds at once; returns the revents of each (all 0 on timeout). */
    static int[] poll(int[] fds, short events, int timeoutMs) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment pfd = a.allocate(8L * fds.length, 4);
            for (int i = 0; i < fds.length; i++) {
                pfd.set(ValueLayout.JAVA_INT, 8L * i, fds[i]);
                pfd.set(ValueLayout.JAVA_SHORT, 8L * i + 4, fds[i] < 0 ? 0 : events);
            }
            int r = (int) POLL.invokeExact(st, pfd, (long) fds.length, timeoutMs);
            int[] out = new int[fds.length];
            if (r < 0) {
                int e = errno(st);
                if (e == EINTR) {
                    return out;
                }
                throw fail("poll", e);
            }
            for (int i = 0; i < fds.length; i++) {
                out[i] = fds[i] < 0 ? 0 : pfd.get(ValueLayout.JAVA_SHORT, 8L * i + 6) & 0xffff;
            }
            return out;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** read(2) into {@code buf}: bytes read, 0 at EOF, -EAGAIN/-EIO/-errno on failure. */
    static long read(int fd, MemorySegment buf, MemorySegment state) {
        try {
            long n = (long) READ.invokeExact(state, fd, buf, buf.byteSize());
            return n >= 0 ? n : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** write(2) from {@code buf}: bytes written or -errno. */
    static long write(int fd, MemorySegment buf, long len, MemorySegment state) {
        try {
            long n = (long) WRITE.invokeExact(state, fd, buf, len);
            return n >= 0 ? n : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MemorySegment allocateState(Arena arena) {
        return arena.allocate(STATE);
    }

    /** A new pty master (non-blocking, no controlling tty, close-on-exec) and its slave's path. */
    record PtyMaster(int fd, String slave) {}

    static PtyMaster openPty() throws IOException {
        int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment arg = a.allocate(ValueLayout.JAVA_INT);
            arg.set(ValueLayout.JAVA_INT, 0, 0);
            if ((int) IOCTL_PTR.invokeExact(st, fd, TIOCSPTLCK, arg) < 0) {
                throw fail("ioctl(TIOCSPTLCK)", errno(st));
            }
            if ((int) IOCTL_PTR.invokeExact(st, fd, TIOCGPTN, arg) < 0) {
                throw fail("ioctl(TIOCGPTN)", errno(st));
            }
            return new PtyMaster(fd, "/dev/pts/" + arg.get(ValueLayout.JAVA_INT, 0));
        } catch (IOException e) {
            close(fd);
            throw e;
        } catch (Throwable t) {
            close(fd);
            throw rethrow(t);
        }
    }

    /** Sets a terminal's size (on the master, this also sends SIGWINCH to its foreground job). */
    static void setWindowSize(int fd, int cols, int rows) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment ws = a.allocate(8, 2);
            ws.set(ValueLayout.JAVA_SHORT, 0, (short) rows);
            ws.set(ValueLayout.JAVA_SHORT, 2, (short) cols);
            if ((int) IOCTL_PTR.invokeExact(st, fd, TIOCSWINSZ, ws) < 0) {
                throw fail("ioctl(TIOCSWINSZ)", errno(st));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The c_lflag of a terminal's termios (on a pty master: the slave's settings). */
    static int localFlags(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            MemorySegment tios = a.allocate(64, 4);
            if ((int) IOCTL_PTR.invokeExact(st, fd, TCGETS, tios) < 0) {
                throw fail("ioctl(TCGETS)", errno(st));
            }
            return tios.get(ValueLayout.JAVA_INT, 12);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** setns(2) of the calling thread. */
    static void setns(int fd, int nstype) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(STATE);
            if ((int) SETNS.invokeExact(st, fd, nstype) < 0) {
                throw fail("setns", errno(st));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
