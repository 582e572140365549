package io.pvecri.daemon.streaming;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.e2e.stream.RemoteCommand;
import io.pvecri.daemon.e2e.stream.RemoteCommand.Transport;
import io.pvecri.proto.cri.v1.AttachRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attach end to end without LXC: the real init shim runs on this host in main mode (as in
 * shim-test.sh), and sessions go through the streaming server to its attach socket, whose path
 * is deliberately longer than a unix socket address may be.
 */
class AttachShimTest {
    static final Duration T = Duration.ofSeconds(15);
    static StreamingService service;
    static final List<Process> shims = new ArrayList<>();
    static Path dir;
    static boolean tty;
    static boolean stdinOnce;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws IOException {
        service = new StreamingService(new DaemonConfig.Streaming("127.0.0.1", 0, 60, 60, 8, null, null), new StreamingRuntime() {
            @Override
            public Container runningContainer(String id) {
                return new Container(id, tty, true, stdinOnce);
            }

            @Override
            public Pod readyPod(String id) {
                return new Pod(id, null);
            }

            @Override
            public List<String> execArgv(Container c, List<String> cmd, boolean t) {
                return cmd;
            }

            @Override
            public Path attachSocket(Container c) {
                return dir.resolve("attach.sock");
            }

            @Override
            public Path shimBinary() {
                return StreamingServerTest.SHIM;
            }
        }, new SimpleMeterRegistry());
        service.start();
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @AfterEach
    void killShims() throws InterruptedException {
        for (Process p : shims) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        shims.clear();
    }

    /** Starts the shim with a spec running {@code script}; returns its log file. */
    static Path shim(String name, boolean withTty, boolean withStdin, boolean once, String script) throws Exception {
        tty = withTty;
        stdinOnce = once;
        dir = tmp.resolve(name + "/" + "d".repeat(60) + "/" + "e".repeat(40));
        Files.createDirectories(dir.resolve("log"));
        Path log = dir.resolve("log/c.log");
        ByteArrayOutputStream spec = new ByteArrayOutputStream();
        List<String> recs = new ArrayList<>(List.of("arg=sh", "arg=-c", "arg=" + script, "env=PATH=/usr/bin:/bin", "log=" + log));
        if (withTty) {
            recs.add("tty=1");
        }
        if (withStdin) {
            recs.add("stdin=1");
        }
        for (String r : recs) {
            spec.writeBytes(r.getBytes(StandardCharsets.UTF_8));
            spec.write(0);
        }
        Files.write(dir.resolve("spec"), spec.toByteArray());
        ProcessBuilder pb = new ProcessBuilder(StreamingServerTest.SHIM.toString(), dir.resolve("spec").toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".err").toFile());
        pb.environment().put("PVE_CRI_SHIM_DIR", dir.toString());
        shims.add(pb.start());
        long deadline = System.nanoTime() + T.toNanos();
        while (!Files.exists(dir.resolve("started")) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(Files.exists(dir.resolve("attach.sock")), "the shim made no attach socket");
        assertTrue(dir.resolve("attach.sock").toString().length() > 108, "the test path should exceed sun_path");
        return log;
    }

    static String attachUrl(boolean stdin, boolean withTty) {
        return service.attach(AttachRequest.newBuilder().setContainerId("c1").setStdin(stdin).setStdout(true)
                .setStderr(!withTty).setTty(withTty).build()).getUrl();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void outputAndStdinWhileTheLogGoesOn(Transport t) throws Exception {
        Path log = shim("io-" + t, false, true, false, "echo before; while read l; do echo got:$l; echo err:$l >&2; done; echo bye");
        try (RemoteCommand rc = RemoteCommand.open(t, attachUrl(true, false), true, true, true, false)) {
            rc.stdin("one\n");
            rc.stdout.await(s -> s.contains("got:one\n"), T, "stdout of the main process");
            rc.stderr.await(s -> s.contains("err:one\n"), T, "stderr of the main process");
            assertFalse(rc.stdout.text().contains("before"), "attach shows output from now on, not the past");
            rc.closeStdin(); // not stdin_once: the client detaches, the process keeps its stdin
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(T));
        }
        try (RemoteCommand rc = RemoteCommand.open(t, attachUrl(true, false), true, true, true, false)) {
            rc.stdin("two\n");
            rc.stdout.await(s -> s.contains("got:two\n"), T, "a second attach session");
        }
        String logText = Files.readString(log);
        assertTrue(logText.contains("stdout F got:one") && logText.contains("stdout F got:two") && logText.contains("stderr F err:one"),
                logText);
    }

    @Test
    void stdinOnceClosesStdinAndTheSessionEndsWithTheContainer() throws Exception {
        Path log = shim("once", false, true, true, "while read l; do echo got:$l; done; echo stdin-closed; sleep 0.2; exit 4");
        try (RemoteCommand rc = RemoteCommand.open(Transport.SPDY, attachUrl(true, false), true, true, true, false)) {
            rc.stdin("x\n");
            rc.stdout.await(s -> s.contains("got:x\n"), T, "echo");
            rc.closeStdin();
            rc.stdout.await(s -> s.contains("stdin-closed\n"), T, "the process to see EOF");
            assertEquals("{\"metadata\":{},\"status\":\"Success\"}", rc.awaitStatus(T));
        }
        assertTrue(Files.readString(log).contains("stdout F stdin-closed"));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void ttyResizeReachesTheMainProcess(Transport t) throws Exception {
        shim("tty-" + t, true, true, false, "stty size; while read l; do stty size; done");
        try (RemoteCommand rc = RemoteCommand.open(t, attachUrl(true, true), true, true, false, true)) {
            rc.resize(77, 21);
            Thread.sleep(200);
            rc.stdin("\n");
            rc.stdout.await(s -> s.contains("21 77"), T, "the new size");
        }
    }

    @Test
    void slowOrVanishingClientsNeverStopTheLog() throws Exception {
        Path log = shim("slow", false, false, false, "i=0; while [ $i -lt 3000 ]; do echo line-$i-" + "x".repeat(400) + "; i=$((i+1)); done; sleep 5");
        // a raw client that connects and never reads
        try (var ch = AttachSession.connect(dir.resolve("attach.sock"))) {
            assertTrue(ch.isOpen());
            long deadline = System.nanoTime() + T.toNanos();
            while (!Files.readString(log).contains("line-2999-") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(Files.readString(log).contains("line-2999-"), "the log stalled behind an attach client that does not read");
        }
    }
}
