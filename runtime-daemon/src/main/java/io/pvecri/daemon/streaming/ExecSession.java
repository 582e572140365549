package io.pvecri.daemon.streaming;

import io.pvecri.daemon.util.Log;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One streaming exec: runs the command through the runtime's host argv (lxc-attach and the
 * shim's exec mode), copies its output to the client and the client's stdin to it, and reports
 * the exit code. Without a tty, stdin/stdout/stderr are pipes; with one, the daemon holds the
 * master of a fresh pty and {@code pve-cri-init tty-exec} makes the slave the controlling
 * terminal of lxc-attach (which proxies it to a terminal inside the container), so resizes
 * (TIOCSWINSZ on the master) arrive as SIGWINCH. All I/O on these descriptors is polled with a
 * timeout on two platform threads, so a client that disconnects, or a process that outlives its
 * output, never leaves a thread or descriptor behind: the process tree is killed and every
 * descriptor closed.
 */
final class ExecSession implements CommandIo.Input {
    private static final Log LOG = Log.get(ExecSession.class);
    private static final int CHUNK = 32 * 1024;
    private static final long DRAIN_MS = 2000;
    private static final long FIRST_RESIZE_WAIT_MS = 250;
    private static final long RAW_WAIT_NANOS = 3_000_000_000L;

    private final CommandIo io;
    private final Options opts;
    private final StreamingRuntime runtime;
    private final StreamingRuntime.Container container;
    private final List<String> cmd;
    private final Sessions.Handle handle;
    private final InputQueue input;
    private final CountDownLatch firstResize = new CountDownLatch(1);
    private final Object ptyLock = new Object();
    private volatile Process process;
    private volatile boolean cancelled;
    private volatile boolean exited;
    private volatile boolean stopInput;
    private int master = -1;     // guarded by ptyLock once threads run
    private int slave = -1;
    private int[] pendingSize;   // guarded by ptyLock: a resize that came before the pty existed
    private final AtomicInteger stdinFd = new AtomicInteger(-1);
    private final List<Integer> fds = new java.util.concurrent.CopyOnWriteArrayList<>(); // everything to close at the end

    ExecSession(CommandIo io, Options opts, StreamingRuntime runtime, StreamingRuntime.Container container,
                List<String> cmd, Sessions.Handle handle) {
        this.io = io;
        this.opts = opts;
        this.runtime = runtime;
        this.container = container;
        this.cmd = cmd;
        this.handle = handle;
        this.input = new InputQueue(io.conn());
    }

    void start() {
        Thread.ofVirtual().name(handle.name).start(this::run);
    }

    // ---- input from the client (event loop) ------------------------------------------------

    @Override
    public void stdin(byte[] data) {
        if (opts.stdin()) {
            input.put(data);
        }
    }

    @Override
    public void stdinEnd() {
        input.end();
    }

    @Override
    public void resize(int cols, int rows) {
        if (!opts.tty()) {
            return;
        }
        synchronized (ptyLock) {
            if (master >= 0) {
                try {
                    Native.setWindowSize(master, cols, rows);
                } catch (IOException e) {
                    LOG.debug("streaming.resize_failed", "session", handle.name, "error", e.getMessage());
                }
            } else {
                pendingSize = new int[] {cols, rows};
            }
        }
        firstResize.countDown();
    }

    @Override
    public void disconnected() {
        if (!cancelled) {
            cancelled = true;
            input.close();
            kill();
        }
    }

    // ---- the session -----------------------------------------------------------------------

    private void run() {
        Status status;
        String end = "completed";
        try {
            status = execute();
        } catch (Exception e) {
            status = Status.internal("error executing command in container: " + e.getMessage());
            end = "error";
            LOG.warn("streaming.exec_failed", "session", handle.name, "container", container.id(), "error", e.toString());
        } finally {
            cleanup();
        }
        if (cancelled) {
            end = "client_disconnected";
        } else {
            io.finish(status);
        }
        handle.end("container", container.id(), "exit_code", status.exitCodeOrMinusOne(), "end", end);
    }

    private Status execute() throws IOException, InterruptedException {
        List<String> argv = runtime.execArgv(container, cmd, opts.tty());
        ProcessBuilder pb;
        int[] outFds;
        Sink[] sinks;
        if (opts.tty()) {
            Native.PtyMaster pty = Native.openPty();
            synchronized (ptyLock) {
                master = pty.fd();
                if (pendingSize != null) {
                    Native.setWindowSize(master, pendingSize[0], pendingSize[1]);
                }
            }
            // Held for the whole session: the master then never reads EOF before the helper opened it.
            slave = Native.open(pty.slave(), Native.O_RDWR | Native.O_NOCTTY | Native.O_CLOEXEC);
            if (io.resizable()) {
                firstResize.await(FIRST_RESIZE_WAIT_MS, TimeUnit.MILLISECONDS); // so `stty size` sees it
            }
            List<String> full = new ArrayList<>(List.of(runtime.shimBinary().toString(), "tty-exec", pty.slave(), "--"));
            full.addAll(argv);
            pb = new ProcessBuilder(full)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.PIPE);
            outFds = new int[] {master};
            sinks = new Sink[] {io.stdout()};
            if (opts.stdin()) {
                stdinFd.set(master);
            }
        } else {
            pb = new ProcessBuilder(argv);
            if (opts.stdin()) {
                int[] p = pipe();
                pb.redirectInput(ProcessBuilder.Redirect.from(procFd(p[0])));
                stdinFd.set(p[1]);
            } else {
                pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            outFds = new int[] {-1, -1};
            sinks = new Sink[] {io.stdout(), io.stderr()};
            if (opts.stdout()) {
                int[] p = pipe();
                pb.redirectOutput(ProcessBuilder.Redirect.to(procFd(p[1])));
                outFds[0] = p[0];
            } else {
                pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            }
            if (opts.stderr()) {
                int[] p = pipe();
                pb.redirectError(ProcessBuilder.Redirect.to(procFd(p[1])));
                outFds[1] = p[0];
            } else {
                pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            }
        }
        if (cancelled) {
            return Status.internal("the client went away");
        }
        Process p = pb.start();
        process = p;
        if (cancelled) {
            kill();
        }
        closeChildEnds(outFds);
        String helperError = "";
        InputStream helperErr = opts.tty() ? p.getErrorStream() : null;

        Thread out = Thread.ofPlatform().name(handle.name + "-out").daemon().start(() -> pumpOutput(outFds, sinks));
        Thread in = stdinFd.get() >= 0 ? Thread.ofPlatform().name(handle.name + "-in").daemon().start(this::pumpInput) : null;
        int code;
        try {
            if (helperErr != null) {
                // tty-exec's stderr is this pipe only until it execs lxc-attach (then it is the pty)
                helperError = new String(helperErr.readNBytes(4096), StandardCharsets.UTF_8).strip();
                helperErr.close();
            }
            code = p.waitFor();
            exited = true;
            out.join(DRAIN_MS + 1000);
        } finally {
            exited = true;
            stopInput = true;
            input.close();
            if (in != null) {
                in.join(1000);
            }
            if (out.isAlive()) {
                cancelled = true; // only if a sink write blocks on a client that stopped reading
                out.join(1000);
            }
            if (p.isAlive()) {
                kill();
            }
            p.getOutputStream().close();
            p.getInputStream().close();
            p.getErrorStream().close();
        }
        if (!helperError.isEmpty()) {
            return Status.internal("error executing command in container: " + helperError);
        }
        return code == 0 ? Status.ok() : Status.exitCode(cmd, code);
    }

    private int[] pipe() throws IOException {
        int[] p = Native.pipe(Native.O_NONBLOCK);
        fds.add(p[0]);
        fds.add(p[1]);
        return p;
    }

    private static File procFd(int fd) {
        // The child opens the pipe anew through /proc: its end is a separate, blocking descriptor.
        return new File("/proc/self/fd/" + fd);
    }

    /** The ends the child reopened are closed here at once, so EOF works. */
    private void closeChildEnds(int[] keep) {
        List<Integer> mine = new ArrayList<>();
        for (int fd : keep) {
            mine.add(fd);
        }
        mine.add(stdinFd.get());
        for (Integer fd : new ArrayList<>(fds)) {
            if (!mine.contains(fd)) {
                Native.close(fd);
                fds.remove(fd);
            }
        }
    }

    private void pumpOutput(int[] fdsIn, Sink[] sinks) {
        int[] open = fdsIn.clone();
        boolean[] broken = new boolean[open.length];
        byte[] tmp = new byte[CHUNK];
        long drainUntil = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK);
            MemorySegment state = Native.allocateState(arena);
            while (!cancelled) {
                boolean any = false;
                for (int fd : open) {
                    any |= fd >= 0;
                }
                if (!any) {
                    return;
                }
                if (exited) {
                    if (drainUntil == 0) {
                        drainUntil = System.currentTimeMillis() + DRAIN_MS;
                    } else if (System.currentTimeMillis() > drainUntil) {
                        return; // something in the container still holds the output open
                    }
                }
                int[] rev = Native.poll(open, Native.POLLIN, exited && opts.tty() ? 50 : 100);
                boolean got = false;
                for (int i = 0; i < open.length; i++) {
                    if (open[i] < 0 || rev[i] == 0) {
                        continue;
                    }
                    long n = Native.read(open[i], buf, state);
                    if (n > 0) {
                        got = true;
                        if (sinks[i] != null && !broken[i]) {
                            MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, tmp, 0, (int) n);
                            try {
                                sinks[i].write(tmp, 0, (int) n);
                            } catch (IOException e) {
                                broken[i] = true; // keep draining so the process never blocks
                            }
                        }
                    } else if (n != -Native.EAGAIN && n != -Native.EINTR) {
                        open[i] = -1; // EOF, or EIO: the pty has no writer left
                    }
                }
                if (exited && opts.tty() && !got) {
                    return; // with a tty, the output is complete once the terminal is quiet
                }
            }
        } catch (IOException e) {
            LOG.debug("streaming.output_failed", "session", handle.name, "error", e.getMessage());
        }
    }

    private void pumpInput() {
        int fd = stdinFd.get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK);
            MemorySegment state = Native.allocateState(arena);
            if (opts.tty() && runtime.execSetsRawTerminal()) {
                awaitRawTerminal(fd);
            }
            while (!cancelled && !stopInput) {
                Object item = input.take(100);
                if (item == null) {
                    continue;
                }
                if (item == InputQueue.END) {
                    if (!opts.tty()) {
                        closeStdin(); // the process reads EOF
                        return;
                    }
                    continue; // a terminal has no end of input; the user types ^D
                }
                byte[] data = (byte[]) item;
                for (int off = 0; off < data.length; ) {
                    int n = Math.min(CHUNK, data.length - off);
                    MemorySegment.copy(data, off, buf, ValueLayout.JAVA_BYTE, 0, n);
                    long w = Native.write(fd, buf, n, state);
                    if (w > 0) {
                        off += (int) w;
                    } else if (w == -Native.EAGAIN || w == -Native.EINTR) {
                        Native.poll(fd, Native.POLLOUT, 100);
                        if (cancelled || stopInput) {
                            return;
                        }
                    } else {
                        break; // EPIPE: the process closed its stdin; drop this data
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            LOG.debug("streaming.input_failed", "session", handle.name, "error", e.getMessage());
        }
    }

    /**
     * Input written before lxc-attach has set up its terminal proxy would be flushed by it; wait
     * (bounded) until the terminal is in raw mode.
     */
    private void awaitRawTerminal(int fd) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + RAW_WAIT_NANOS;
        while (!cancelled && !stopInput && !exited && System.nanoTime() < deadline) {
            if ((Native.localFlags(fd) & Native.ICANON) == 0) {
                return;
            }
            Thread.sleep(5);
        }
    }

    private void closeStdin() {
        int fd = stdinFd.getAndSet(-1);
        if (fd >= 0 && fd != master) {
            fds.remove((Integer) fd);
            Native.close(fd);
        }
    }

    /** Kills the host process tree (lxc-attach and everything under it, container side included). */
    private void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroyForcibly();
        tree.forEach(ProcessHandle::destroyForcibly);
    }

    private void cleanup() {
        Process p = process;
        if (p != null) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    kill();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int in = stdinFd.getAndSet(-1);
        if (in >= 0 && in != master) {
            fds.remove((Integer) in);
            Native.close(in);
        }
        for (int fd : fds) {
            Native.close(fd);
        }
        fds.clear();
        synchronized (ptyLock) {
            Native.close(master);
            Native.close(slave);
            master = -1;
            slave = -1;
        }
    }
}
