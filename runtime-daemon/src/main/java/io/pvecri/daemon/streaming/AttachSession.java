package io.pvecri.daemon.streaming;

import io.pvecri.daemon.util.Log;

import java.io.EOFException;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One attach session: connects to the container shim's attach socket and relays frames
 * (docs/shim.md, "Attach socket"): the main process's output as it is produced, and the
 * client's stdin (when the container was created with stdin) and terminal resizes. The shim
 * keeps logging whatever the client does. When the client's stdin ends, a non-tty container
 * with {@code stdin_once} gets its stdin closed and the session goes on until the container
 * exits; otherwise the client detaches, as containerd does. A {@code stdin_once} container
 * also has its stdin closed when the first session that attached it ends.
 */
final class AttachSession implements CommandIo.Input {
    private static final Log LOG = Log.get(AttachSession.class);
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final int EXIT = 3;
    static final int RESIZE = 4;
    static final int CLOSE_STDIN = 5;
    static final int HELLO = 6;
    private static final int MAX_FRAME = 1 << 20;
    private static final int O_PATH = 010000000;
    private static final int O_DIRECTORY = 0200000;

    private final CommandIo io;
    private final Options opts;
    private final StreamingRuntime.Container container;
    private final Path socketPath;
    private final Sessions.Handle handle;
    private final InputQueue input;
    private volatile SocketChannel socket;
    private volatile boolean cancelled;
    private volatile boolean detached;
    private boolean stdinClosed; // writer thread only

    AttachSession(CommandIo io, Options opts, StreamingRuntime.Container container, Path socketPath, Sessions.Handle handle) {
        this.io = io;
        this.opts = opts;
        this.container = container;
        this.socketPath = socketPath;
        this.handle = handle;
        this.input = new InputQueue(io.conn());
    }

    void start() {
        Thread.ofVirtual().name(handle.name).start(this::run);
    }

    private boolean stdinAttached() {
        return opts.stdin() && container.stdin();
    }

    @Override
    public void stdin(byte[] data) {
        if (stdinAttached()) {
            input.put(data);
        }
    }

    @Override
    public void stdinEnd() {
        if (stdinAttached()) {
            input.end();
        }
    }

    @Override
    public void resize(int cols, int rows) {
        if (container.tty()) {
            input.put(new int[] {cols, rows});
        }
    }

    @Override
    public void disconnected() {
        cancelled = true;
        input.end(); // the writer closes stdin if stdin_once, then the socket
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException ignored) {
                // closing anyway
            }
            closeSocket();
        });
    }

    private void run() {
        Status status = Status.ok();
        String end = "detached";
        Thread writer = null;
        try {
            socket = connect(socketPath);
            Frame hello = readFrame(socket);
            if (hello == null || hello.type != HELLO) {
                throw new IOException("the container's shim did not greet on its attach socket");
            }
            writer = Thread.ofVirtual().name(handle.name + "-in").start(this::writeLoop);
            Sink out = io.stdout();
            Sink err = io.stderr();
            while (true) {
                Frame f = readFrame(socket);
                if (f == null) {
                    end = cancelled ? "client_disconnected" : detached ? "detached" : "container_exited";
                    break;
                }
                switch (f.type) {
                    case STDOUT -> write(out, f.data);
                    case STDERR -> write(err != null ? err : opts.tty() ? out : null, f.data);
                    case EXIT -> {
                        end = "container_exited";
                        LOG.debug("streaming.attach_container_exited", "session", handle.name, "exit_code",
                                new String(f.data, StandardCharsets.US_ASCII));
                    }
                    default -> { }
                }
                if (f.type == EXIT) {
                    break;
                }
            }
        } catch (IOException e) {
            if (cancelled) {
                end = "client_disconnected";
            } else if (detached) {
                end = "detached";
            } else {
                status = Status.internal("error attaching to container: " + describe(e));
                end = "error";
            }
        } finally {
            input.end();
            if (writer != null) {
                try {
                    writer.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            input.close();
            closeSocket();
        }
        if (!cancelled) {
            io.finish(status);
        }
        handle.end("container", container.id(), "end", end);
    }

    private void write(Sink sink, byte[] data) {
        if (sink == null || data.length == 0) {
            return;
        }
        try {
            sink.write(data, 0, data.length);
        } catch (IOException e) {
            cancelled = true;
            closeSocket();
        }
    }

    /** The only writer of the socket: stdin, resizes, and the closing of stdin. */
    private void writeLoop() {
        try {
            while (true) {
                Object item = input.take(200);
                SocketChannel s = socket;
                if (s == null || !s.isOpen()) {
                    return;
                }
                if (item == null) {
                    if (input.closed()) {
                        return;
                    }
                    continue;
                }
                if (item instanceof byte[] b) {
                    send(s, STDIN, b);
                } else if (item instanceof int[] size) {
                    byte[] p = {(byte) (size[0] >> 8), (byte) size[0], (byte) (size[1] >> 8), (byte) size[1]};
                    send(s, RESIZE, p);
                } else if (item == InputQueue.END) {
                    if (stdinAttached() && container.stdinOnce() && !stdinClosed) {
                        stdinClosed = true;
                        send(s, CLOSE_STDIN, new byte[0]);
                    }
                    if (cancelled) {
                        closeSocket();
                        return;
                    }
                    if (stdinAttached() && (!container.stdinOnce() || container.tty())) {
                        detached = true; // the client is done with its input: detach
                        closeSocket();
                        return;
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            LOG.debug("streaming.attach_write_failed", "session", handle.name, "error", e.toString());
        }
    }

    private static void send(SocketChannel s, int type, byte[] payload) throws IOException {
        for (int off = 0; off == 0 || off < payload.length; ) {
            int n = Math.min(payload.length - off, 65536);
            ByteBuffer b = ByteBuffer.allocate(5 + n);
            b.put((byte) type).putInt(n).put(payload, off, n).flip();
            while (b.hasRemaining()) {
                s.write(b);
            }
            off += n;
            if (payload.length == 0) {
                break;
            }
        }
    }

    private record Frame(int type, byte[] data) {}

    private static Frame readFrame(SocketChannel s) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(5);
        if (!readFully(s, h, true)) {
            return null;
        }
        h.flip();
        int type = h.get() & 0xff;
        int len = h.getInt();
        if (len < 0 || len > MAX_FRAME) {
            throw new IOException("bad frame from the shim (length " + len + ")");
        }
        ByteBuffer d = ByteBuffer.allocate(len);
        readFully(s, d, false);
        return new Frame(type, d.array());
    }

    private static boolean readFully(SocketChannel s, ByteBuffer b, boolean eofOk) throws IOException {
        while (b.hasRemaining()) {
            int n = s.read(b);
            if (n < 0) {
                if (eofOk && b.position() == 0) {
                    return false;
                }
                throw new EOFException("the shim closed the attach socket mid-frame");
            }
        }
        return true;
    }

    private void closeSocket() {
        SocketChannel s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /**
     * Connects to the shim's socket. Unix socket paths are limited to 107 bytes and container
     * directories are deeper than that, so the connection goes through {@code /proc/self/fd/N}
     * of the directory.
     */
    static SocketChannel connect(Path path) throws IOException {
        if (path.toString().getBytes(StandardCharsets.UTF_8).length < 100) {
            return SocketChannel.open(UnixDomainSocketAddress.of(path));
        }
        int dir = Native.open(path.getParent().toString(), O_PATH | O_DIRECTORY | Native.O_CLOEXEC);
        try {
            return SocketChannel.open(UnixDomainSocketAddress.of("/proc/self/fd/" + dir + "/" + path.getFileName()));
        } finally {
            Native.close(dir);
        }
    }
}
