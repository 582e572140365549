package io.pvecri.proxmox.emulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs the host tools a real node uses ({@code tar}, {@code lxc-*}, {@code mount}), as
 * {@code PVE::Tools::run_command} does: argv (no shell), a timeout, output collected, and a failure
 * reported as {@code command '<cmd>' failed: exit code N}.
 */
final class Exec {

    private static final System.Logger LOG = System.getLogger(Exec.class.getName());
    private static final int KEEP = 64 * 1024;

    /** A finished command. */
    record Result(List<String> argv, int exitCode, String out, String err) {
        boolean ok() {
            return exitCode == 0;
        }

        /** PVE's wording: {@code command 'lxc-stop -n 100 --kill' failed: exit code 1}. */
        String failure() {
            return "command '" + String.join(" ", argv) + "' failed: exit code " + exitCode;
        }
    }

    /** Options for one run. */
    record Spec(List<String> argv, Path cwd, Path stdin, Duration timeout, Consumer<String> lines) {
        Spec {
            argv = List.copyOf(argv);
        }
    }

    private Exec() {
    }

    static Result run(List<String> argv, Duration timeout) {
        return run(new Spec(argv, null, null, timeout, null));
    }

    /**
     * Runs {@code spec}; {@code lines} (if given) receives every stdout and stderr line as it comes. A
     * command that outlives its timeout is killed and reported with exit code 124 (timeout(1)'s).
     */
    static Result run(Spec spec) {
        ProcessBuilder pb = new ProcessBuilder(spec.argv());
        if (spec.cwd() != null) {
            pb.directory(spec.cwd().toFile());
        }
        if (spec.stdin() != null) {
            pb.redirectInput(spec.stdin().toFile());
        } else {
            pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        }
        long t0 = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Result(spec.argv(), 127, "", e.getMessage());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread o = Thread.ofVirtual().start(() -> pump(p.getInputStream(), out, spec.lines()));
        Thread e = Thread.ofVirtual().start(() -> pump(p.getErrorStream(), err, spec.lines()));
        int code;
        try {
            if (!p.waitFor(spec.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                code = 124;
            } else {
                code = p.exitValue();
            }
            o.join();
            e.join();
        } catch (InterruptedException ie) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw PveError.die("received interrupt");
        }
        Result r = new Result(spec.argv(), code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        LOG.log(r.ok() ? Level.DEBUG : Level.INFO, () -> "emulator exec " + String.join(" ", spec.argv()) + " -> " + r.exitCode()
                + " in " + ms + " ms" + (r.ok() ? "" : ": " + r.err().strip()));
        return r;
    }

    /** Runs {@code argv}; a non-zero exit is PVE's {@code command '…' failed} error. */
    static Result check(List<String> argv, Duration timeout) {
        Result r = run(argv, timeout);
        if (!r.ok()) {
            throw PveError.die(r.failure());
        }
        return r;
    }

    private static void pump(InputStream in, ByteArrayOutputStream sink, Consumer<String> lines) {
        try (in) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1) {
                if (sink.size() < KEEP) {
                    sink.write(c);
                }
                if (lines != null) {
                    if (c == '\n') {
                        lines.accept(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                    } else if (line.size() < 4096) {
                        line.write(c);
                    }
                }
            }
            if (lines != null && line.size() > 0) {
                lines.accept(line.toString(StandardCharsets.UTF_8));
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
