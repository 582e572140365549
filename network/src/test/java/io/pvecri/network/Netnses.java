package io.pvecri.network;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Throwaway network namespaces for one test: a "host" netns that stands in for the real host,
 * and pod netns. Everything lives in namespaces created here ({@code ip netns add
 * pvecri-nettest-<random>...}) and is deleted in {@link #close()}, with the processes started
 * in them. Traffic only ever goes to addresses inside these namespaces.
 */
final class Netnses implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final String prefix = "pvecri-nettest-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    private final List<String> names = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Path host;

    Netnses() throws IOException {
        assumeCapable();
        host = create("h");
        // a real host has loopback up
        Exec.Result lo = in(host, "ip", "link", "set", "lo", "up");
        if (!lo.ok()) {
            close();
            throw new IOException(lo.describe());
        }
    }

    /** Skips the test where namespaces cannot be made (not root, tools missing). */
    static void assumeCapable() {
        boolean root = "root".equals(System.getProperty("user.name"));
        Assumptions.assumeTrue(root, "network tests need root");
        for (String tool : List.of("/usr/sbin/ip", "/usr/sbin/nft", "/usr/bin/nsenter", "/usr/bin/busybox")) {
            Assumptions.assumeTrue(Files.isExecutable(Path.of(tool)) || Files.isExecutable(Path.of(tool.replace("/usr", ""))),
                    tool + " missing");
        }
    }

    /** The throwaway "host" netns file. */
    Path host() {
        return host;
    }

    /** A new netns for a pod; loopback down, nothing in it. */
    synchronized Path pod(String tag) throws IOException {
        return create("p" + tag);
    }

    private synchronized Path create(String tag) throws IOException {
        String name = prefix + "-" + tag;
        run(List.of("ip", "netns", "add", name));
        names.add(name);
        return Path.of("/run/netns", name);
    }

    /** Deletes one netns early (a pod's netns vanishing). */
    synchronized void delete(Path ns) throws IOException {
        String name = ns.getFileName().toString();
        if (names.remove(name)) {
            run(List.of("ip", "netns", "del", name));
        }
    }

    /** Runs a command inside {@code ns}; returns the result. */
    static Exec.Result in(Path ns, String... argv) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + ns));
        cmd.addAll(List.of(argv));
        return Exec.run(cmd, null, null, TIMEOUT);
    }

    static String ok(Path ns, String... argv) throws IOException {
        Exec.Result r = in(ns, argv);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r.stdout();
    }

    /** One ping, one second at most. */
    static boolean ping(Path from, String ip) throws IOException {
        return in(from, "busybox", "ping", "-c", "1", "-W", "1", ip).ok();
    }

    /** HTTP GET with a 3 s limit; null when it fails. */
    static String get(Path from, String url) throws IOException {
        // busybox wget -T crashes on Debian 12; coreutils timeout bounds it instead
        Exec.Result r = in(from, "timeout", "3", "busybox", "wget", "-q", "-O", "-", url);
        return r.ok() ? r.stdout() : null;
    }

    /** Starts busybox httpd in {@code ns} serving {@code body} at /index.html on {@code port}. */
    synchronized void httpd(Path ns, int port, String body, Path docroot) throws IOException {
        Files.createDirectories(docroot);
        Files.writeString(docroot.resolve("index.html"), body, StandardCharsets.UTF_8);
        Process p = new ProcessBuilder("nsenter", "--net=" + ns, "busybox", "httpd", "-f", "-p", String.valueOf(port),
                "-h", docroot.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        // bounded wait until it listens
        for (int i = 0; i < 50; i++) {
            if (in(ns, "timeout", "1", "busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:" + port + "/index.html").ok()) {
                return;
            }
            sleep(50);
        }
        throw new IOException("httpd did not start in " + ns);
    }

    /** Starts a long-running program in {@code ns} (output to {@code log}); it is killed in {@link #close()}. */
    synchronized Process start(Path ns, List<String> argv, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + ns));
        cmd.addAll(argv);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        processes.add(p);
        return p;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void close() throws IOException {
        for (Process p : processes) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        List<String> errors = new ArrayList<>();
        for (String n : names.reversed()) {
            Exec.Result r = Exec.run(List.of("ip", "netns", "del", n), null, null, TIMEOUT);
            if (!r.ok()) {
                errors.add(r.describe());
            }
        }
        names.clear();
        if (!errors.isEmpty()) {
            throw new IOException(String.join("; ", errors));
        }
    }

    private static void run(List<String> argv) throws IOException {
        Exec.Result r = Exec.run(argv, null, null, TIMEOUT);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
    }
}
