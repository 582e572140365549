package io.pvecri.proxmox.node;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The per-CT config lock PVE takes around every config change: {@code flock(2)} on
 * {@code /run/lock/lxc/pve-config-<vmid>.lock} ({@code PVE::LXC::Config::lock_config}, 10 s timeout).
 * Real {@code flock(2)} (not Java's {@code fcntl} locks), so it excludes {@code pct}, PVE's workers and
 * other threads of this process alike: each acquisition opens its own file description.
 */
public final class CtConfigLock {

    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int O_WRONLY_CREAT_CLOEXEC = 0x1 | 0x40 | 0x80000;
    private static final int EWOULDBLOCK = 11;
    private static final int EINTR = 4;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO_STATE = Linker.Option.captureCallState("errno");
    private static final MethodHandle OPEN = libc("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            ERRNO_STATE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle FLOCK = libc("flock",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO_STATE);
    private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final VarHandle ERRNO = Linker.Option.captureStateLayout()
            .varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static MethodHandle libc(String name, FunctionDescriptor fd, Linker.Option... options) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd, options);
    }

    /** Raised when the lock is not free within the timeout; the message is PVE's. */
    public static final class TimeoutException extends IOException {
        public TimeoutException(String message) {
            super(message);
        }
    }

    private final Path lockDir;

    /** @param lockDir {@code /run/lock/lxc} on a node */
    public CtConfigLock(Path lockDir) {
        this.lockDir = lockDir;
    }

    public Path file(int vmid) {
        return lockDir.resolve("pve-config-" + vmid + ".lock");
    }

    /** Runs {@code body} holding the lock of {@code vmid}, waiting at most {@code timeout} for it. */
    public <T> T withLock(int vmid, Duration timeout, Callable<T> body) throws Exception {
        try (Held ignored = acquire(vmid, timeout)) {
            return body.call();
        }
    }

    /**
     * Takes the lock of {@code vmid}, waiting at most {@code timeout}; closing the handle releases it.
     * For a lock held across threads (PVE's workers inherit the lock of the request that forked them).
     */
    public Held acquire(int vmid, Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(lockDir);
        int fd = open(file(vmid));
        boolean ok = false;
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            long sleep = 2;
            while (!tryLock(fd)) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("can't lock file '" + file(vmid) + "' - got timeout");
                }
                Thread.sleep(sleep);
                sleep = Math.min(100, sleep * 2);
            }
            ok = true;
            return new Held(fd);
        } finally {
            if (!ok) {
                close(fd);
            }
        }
    }

    /** Takes the lock of {@code vmid} only if it is free right now. */
    public Optional<Held> tryAcquire(int vmid) throws IOException {
        Files.createDirectories(lockDir);
        int fd = open(file(vmid));
        if (tryLock(fd)) {
            return Optional.of(new Held(fd));
        }
        close(fd);
        return Optional.empty();
    }

    /** A held lock; {@link #close()} (idempotent) releases it. */
    public static final class Held implements AutoCloseable {
        private final int fd;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Held(int fd) {
            this.fd = fd;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                CtConfigLock.close(fd); // closing the last descriptor of the open file releases the flock
            }
        }
    }

    /** Runs {@code body} holding the lock; for bodies that return nothing. */
    public void run(int vmid, Duration timeout, IoRunnable body) throws Exception {
        withLock(vmid, timeout, () -> {
            body.run();
            return null;
        });
    }

    @FunctionalInterface
    public interface IoRunnable {
        void run() throws Exception;
    }

    private static int open(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(file.toString()), O_WRONLY_CREAT_CLOEXEC, 0644);
            if (fd < 0) {
                throw new IOException("cannot open lock file " + file + ": errno " + (int) ERRNO.get(state, 0L));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("open failed", t);
        }
    }

    private static boolean tryLock(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int rc = (int) FLOCK.invokeExact(state, fd, LOCK_EX | LOCK_NB);
            if (rc == 0) {
                return true;
            }
            int errno = (int) ERRNO.get(state, 0L);
            if (errno == EWOULDBLOCK || errno == EINTR) {
                return false;
            }
            throw new IOException("flock failed: errno " + errno);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("flock failed", t);
        }
    }

    private static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            // nothing sensible to do: the descriptor is gone either way
        }
    }
}
