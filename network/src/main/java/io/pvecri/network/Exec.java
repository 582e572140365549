package io.pvecri.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs one external command with a time limit, optional stdin and environment, capturing output. */
final class Exec {
    private static final int MAX_OUTPUT = 4 * 1024 * 1024;

    /** The outcome of a command. */
    record Result(List<String> argv, int exit, String stdout, String stderr) {
        boolean ok() {
            return exit == 0;
        }

        /** One-line description for error messages. */
        String describe() {
            String err = stderr.isBlank() ? stdout : stderr;
            err = err.strip().replace('\n', ' ');
            if (err.length() > 600) {
                err = err.substring(0, 600) + "...";
            }
            return String.join(" ", argv) + ": exit " + exit + (err.isEmpty() ? "" : ": " + err);
        }
    }

    private Exec() {
    }

    /**
     * Runs {@code argv}. {@code env} null inherits the daemon's environment, otherwise replaces it.
     * Throws IOException when the program cannot start or runs past {@code timeout} (it is killed).
     */
    static Result run(List<String> argv, String stdin, Map<String, String> env, Duration timeout) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (env != null) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process p = pb.start();
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        if (stdin != null) {
            Thread.ofVirtual().start(() -> {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the program exited without reading everything; its exit status tells
                }
            });
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IOException(String.join(" ", argv) + ": timed out after " + timeout.toSeconds() + "s");
            }
            return new Result(List.copyOf(argv), p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", argv) + ": interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException(String.join(" ", argv) + ": output not readable: " + e.getMessage(), e);
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (in) {
                byte[] all = in.readNBytes(MAX_OUTPUT);
                in.transferTo(OutputStream.nullOutputStream());
                f.complete(new String(all, StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("");
            }
        });
        return f;
    }
}
