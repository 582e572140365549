package io.pvecri.daemon.util;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host command with a deadline and captures its output (bounded). Used for the lxc-*
 * tools, ip and unshare. Output readers are virtual threads, so both streams drain in parallel.
 */
public final class Command {
    private Command() {}

    /** What a command did. Output is truncated to the limit given to {@link #run}. */
    public record Result(List<String> argv, int exitCode, byte[] stdout, byte[] stderr, boolean timedOut) {
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        public String err() {
            return new String(stderr, StandardCharsets.UTF_8).strip();
        }

        /** A one-line summary for errors: the command, its exit code and the tail of stderr. */
        public String describe() {
            String e = err();
            if (e.length() > 600) {
                e = "..." + e.substring(e.length() - 600);
            }
            return String.join(" ", argv) + (timedOut ? " timed out" : " exited " + exitCode) + (e.isEmpty() ? "" : ": " + e);
        }
    }

    public static Result run(List<String> argv, Duration timeout) throws IOException {
        return run(argv, timeout, 1 << 20, null);
    }

    /**
     * Runs {@code argv}; stdin is empty; at the deadline the process is killed (SIGKILL) and the
     * result says timedOut.
     */
    public static Result run(List<String> argv, Duration timeout, int outputLimit, Path workDir) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        BoundedSink out = BoundedSink.drain(p.getInputStream(), outputLimit);
        BoundedSink err = BoundedSink.drain(p.getErrorStream(), outputLimit);
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + argv.getFirst(), e);
        }
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new Result(argv, done ? p.exitValue() : -1, out.bytes(), err.bytes(), !done);
    }

    /** Reads a stream to the end on a virtual thread, keeping at most {@code limit} bytes. */
    public static final class BoundedSink {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final Thread thread;
        private volatile boolean truncated;

        private BoundedSink(InputStream in, int limit) {
            thread = Thread.ofVirtual().name("cmd-output").start(() -> {
                byte[] chunk = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(chunk)) > 0) {
                        synchronized (buf) {
                            int room = limit - buf.size();
                            if (room > 0) {
                                buf.write(chunk, 0, Math.min(room, n));
                            }
                            if (n > room) {
                                truncated = true;
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // The process went away; what was read is kept.
                }
            });
        }

        public static BoundedSink drain(InputStream in, int limit) {
            return new BoundedSink(in, limit);
        }

        public byte[] bytes() {
            try {
                thread.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (buf) {
                return buf.toByteArray();
            }
        }

        public boolean truncated() {
            return truncated;
        }
    }
}
