package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.daemon.e2e.stream.MiniKubelet;
import io.pvecri.daemon.e2e.stream.PortForwardClient;
import io.pvecri.daemon.e2e.stream.RemoteCommand;
import io.pvecri.daemon.e2e.stream.RemoteCommand.Transport;
import io.pvecri.daemon.e2e.stream.SpdyClient;
import io.pvecri.daemon.e2e.stream.UpgradeFailed;
import io.pvecri.daemon.e2e.stream.WsClient;
import io.pvecri.proto.cri.v1.AttachRequest;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.ExecRequest;
import io.pvecri.proto.cri.v1.PortForwardRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming server (Exec, Attach, PortForward) against the real daemon and real LXC
 * containers, with the test clients for SPDY/3.1 and WebSocket (Netty codecs): exec exit codes as
 * metav1.Status, interactive tty with resizes, stdin, 10 MiB of output, attach to a running
 * container, port-forward to a TCP echo server in the pod, single-use expiring tokens, and that
 * clients that vanish leave no process, thread or descriptor behind. Also prints the median
 * round trip of an exec (for docs/benchmarks.md).
 */
class StreamingIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    static final Duration T = Duration.ofSeconds(20);
    static final int TOKEN_TTL_S = 3;
    static final String SUCCESS = "{\"metadata\":{},\"status\":\"Success\"}";

    static Pods pods;
    static Pod pod;
    static String app;
    static String ticker;
    static String shell;

    @BeforeAll
    static void startContainers() throws IOException {
        // A short token TTL, so that expiry can be seen; everything else keeps its default.
        Files.writeString(daemon.daemon().root().resolve("config.yaml"),
                "streaming:\n  tokenTtlSeconds: " + TOKEN_TTL_S + "\n", StandardOpenOption.APPEND);
        daemon.daemon().restart();
        pods = daemon.pods();
        pod = pods.run("stream");
        app = pod.start(pods.container("app", "sh", "-c", "nc -ll -p 8080 -e cat"));
        ticker = pod.start(pods.shell("ticker", "i=0; while true; do echo tick-$i; echo tock-$i >&2; i=$((i+1)); sleep 0.2; done"));
        shell = pod.start(pods.container("shell", "sh").setTty(true).setStdin(true));
        for (String c : List.of(app, ticker, shell)) {
            pods.awaitState(c, ContainerState.CONTAINER_RUNNING);
        }
    }

    static String execUrl(String container, boolean stdin, boolean tty, String... cmd) {
        return pods.runtime().exec(ExecRequest.newBuilder().setContainerId(container).addAllCmd(List.of(cmd))
                .setStdin(stdin).setStdout(true).setStderr(!tty).setTty(tty).build()).getUrl();
    }

    static String attachUrl(String container, boolean stdin, boolean tty) {
        return pods.runtime().attach(AttachRequest.newBuilder().setContainerId(container)
                .setStdin(stdin).setStdout(true).setStderr(!tty).setTty(tty).build()).getUrl();
    }

    static String portForwardUrl(Integer... ports) {
        return pods.runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod.id())
                .addAllPort(List.of(ports)).build()).getUrl();
    }

    // ---- exec -------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Transport.class)
    void execReportsExitCodesAsKubeletDoes(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, false, false, "sh", "-c", "echo out; echo err >&2; exit 7"),
                false, true, true, false)) {
            assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: "
                    + "error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7\",\"reason\":\"NonZeroExitCode\","
                    + "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"7\"}]}}", rc.awaitStatus(T));
            assertEquals("out\n", rc.stdout.text());
            assertEquals("err\n", rc.stderr.text());
        }
        try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, false, false, "true"), false, true, true, false)) {
            assertEquals(SUCCESS, rc.awaitStatus(T));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void interactiveTtyFollowsResizes(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, true, true, "sh"), true, true, false, true)) {
            rc.resize(123, 45);
            rc.stdin("stty size\n");
            rc.stdout.await(s -> s.contains("45 123"), T, "stty size after the first resize");
            rc.resize(81, 25);
            rc.stdin("stty size; echo done-$((6*7))\n");
            rc.stdout.await(s -> s.contains("25 81") && s.contains("done-42"), T, "stty size after the second resize");
            rc.stdin("exit 5\n");
            String status = rc.awaitStatus(T);
            assertTrue(status.contains("\"reason\":\"NonZeroExitCode\"") && status.contains("\"message\":\"5\""), status);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void stdinReachesTheCommandAndItsEndIsEof(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, true, false, "cat"), true, true, true, false)) {
            rc.stdin("first line\n");
            rc.stdout.await(s -> s.equals("first line\n"), T, "cat to echo the first line");
            rc.stdin("second line\n");
            rc.closeStdin();
            assertEquals(SUCCESS, rc.awaitStatus(T));
            assertEquals("first line\nsecond line\n", rc.stdout.text());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void tenMebibytesOfOutputArriveWhole(Transport t) throws Exception {
        int size = 10 * 1024 * 1024;
        try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, false, false, "sh", "-c", "yes 0123456789abcde | head -c " + size),
                false, true, true, false)) {
            assertEquals(SUCCESS, rc.awaitStatus(Duration.ofSeconds(60)));
            byte[] out = rc.stdout.bytes();
            assertEquals(size, out.length);
            byte[] line = "0123456789abcde\n".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < out.length; i += line.length) {
                if (!Arrays.equals(out, i, i + line.length, line, 0, line.length)) {
                    throw new AssertionError("output differs at byte " + i);
                }
            }
        }
    }

    // ---- attach -----------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Transport.class)
    void attachShowsTheRunningOutput(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, attachUrl(ticker, false, false), false, true, true, false)) {
            String out = rc.stdout.await(s -> s.split("tick-").length > 3, T, "three ticks");
            rc.stderr.await(s -> s.contains("tock-"), T, "stderr of the main process");
            assertFalse(out.contains("tick-0\n"), "attach starts with current output, not the log's past");
        }
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(ticker).getState(), "detaching left the container running");
        Path log = pod.logFile("ticker");
        long before = Files.size(log);
        Wait.until("the log to keep growing after the detach", T, () -> sizeOf(log) > before);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void attachWithTtyStdinAndResize(Transport t) throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(t, attachUrl(shell, true, true), true, true, false, true)) {
            rc.resize(90, 33);
            Thread.sleep(200);
            rc.stdin("stty size; echo attached-$((40+2))\n");
            rc.stdout.await(s -> s.contains("33 90") && s.contains("attached-42"), T, "the shell's answer");
        }
        assertEquals(ContainerState.CONTAINER_RUNNING, pods.status(shell).getState());
    }

    // ---- port-forward -----------------------------------------------------------------------------

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void portForwardOverSpdyReachesTheEchoServerInThePod(boolean overWebSocket) throws Exception {
        try (PortForwardClient.Spdy pf = overWebSocket ? PortForwardClient.Spdy.connectTunnel(portForwardUrl())
                : PortForwardClient.Spdy.connect(portForwardUrl())) {
            PortForwardClient.Connection a = pf.forward(8080);
            PortForwardClient.Connection b = pf.forward(8080);
            a.write("hello a\n");
            b.write("hello b\n");
            a.awaitData("hello a\n", T);
            b.awaitData("hello b\n", T);
            a.closeWrite();
            a.data().in.awaitEnd(T, "the echo connection to end after our FIN");
            PortForwardClient.Connection closed = pf.forward(8081);
            String err = closed.awaitError(T);
            assertTrue(err.contains("error forwarding port 8081 to pod " + pod.id()), err);
        }
    }

    @Test
    void portForwardOverWebSocket() throws Exception {
        try (WsClient ws = WsClient.connect(portForwardUrl(8080), "v4.channel.k8s.io")) {
            ws.channel(0).awaitBytes(2, T, "the port prefix on the data channel");
            byte[] prefix = Arrays.copyOf(ws.channel(0).bytes(), 2);
            assertEquals(8080, (prefix[0] & 0xff) | (prefix[1] & 0xff) << 8);
            ws.send(0, "over websocket\n");
            ws.channel(0).await(s -> s.endsWith("over websocket\n"), T, "the echo");
        }
    }

    // ---- tokens and bad requests -------------------------------------------------------------------

    @Test
    void tokensAreSingleUseAndExpire() throws Exception {
        String url = execUrl(app, false, false, "true");
        try (RemoteCommand rc = RemoteCommand.open(Transport.SPDY, url, false, true, true, false)) {
            assertEquals(SUCCESS, rc.awaitStatus(T));
        }
        UpgradeFailed reused = assertThrows(UpgradeFailed.class, () -> SpdyClient.connect(url, List.of("v4.channel.k8s.io")));
        assertEquals(404, reused.status());
        assertTrue(reused.body().contains("unknown, expired or already used"), reused.body());

        String late = execUrl(app, false, false, "true");
        Thread.sleep(TOKEN_TTL_S * 1000L + 500);
        UpgradeFailed expired = assertThrows(UpgradeFailed.class, () -> WsClient.connect(late, "v5.channel.k8s.io"));
        assertEquals(404, expired.status());
    }

    @Test
    void badRequestsAreRefusedWithClearStatuses() {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> pods.runtime().exec(ExecRequest.newBuilder().setContainerId(app)
                .setStdout(true).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> pods.runtime().exec(ExecRequest.newBuilder().setContainerId(app)
                .addCmd("true").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> pods.runtime().exec(ExecRequest.newBuilder().setContainerId(app)
                .addCmd("true").setTty(true).setStdout(true).setStderr(true).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.runtime().exec(ExecRequest.newBuilder().setContainerId("f".repeat(64))
                .addCmd("true").setStdout(true).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.runtime().portForward(PortForwardRequest.newBuilder()
                .setPodSandboxId("f".repeat(64)).build()));
        String exited = pod.start(pods.shell("quick", "true"));
        pods.awaitState(exited, ContainerState.CONTAINER_EXITED);
        assertStatus(Status.Code.FAILED_PRECONDITION, () -> pods.runtime().attach(AttachRequest.newBuilder().setContainerId(exited)
                .setStdout(true).build()));
    }

    // ---- leaks, metrics, latency ------------------------------------------------------------------

    @Test
    void clientsThatVanishLeaveNothingBehind() throws Exception {
        long pid = daemon.daemon().pid();
        // warm up every path once, so lazily opened files (jars, epoll) are in the baseline
        for (Transport t : Transport.values()) {
            try (RemoteCommand rc = RemoteCommand.open(t, execUrl(app, true, true, "true"), true, true, false, true)) {
                rc.awaitStatus(T);
            }
        }
        try (PortForwardClient.Spdy pf = PortForwardClient.Spdy.connect(portForwardUrl())) {
            PortForwardClient.Connection c = pf.forward(8080);
            c.write("warm\n");
            c.awaitData("warm", T);
        }
        Wait.until("the warm-up sessions to end", T, () -> activeSessions() == 0);
        Map<String, String> fdsBefore = fds(pid);
        long childrenBefore = ProcessHandle.of(pid).orElseThrow().descendants().count();

        List<Runnable> aborts = new ArrayList<>();
        for (Transport t : Transport.values()) {
            RemoteCommand tty = RemoteCommand.open(t, execUrl(app, true, true, "sh", "-c", "echo ready; exec sleep 4242"), true, true, false, true);
            RemoteCommand plain = RemoteCommand.open(t, execUrl(app, true, false, "sh", "-c", "echo ready; exec sleep 4243"), true, true, true, false);
            RemoteCommand attached = RemoteCommand.open(t, attachUrl(ticker, false, false), false, true, true, false);
            tty.stdout.await(s -> s.contains("ready"), T, "the tty exec to start");
            plain.stdout.await(s -> s.contains("ready"), T, "the exec to start");
            attached.stdout.await(s -> s.contains("tick-"), T, "attach output");
            aborts.add(tty::abort);
            aborts.add(plain::abort);
            aborts.add(attached::abort);
        }
        PortForwardClient.Spdy pf = PortForwardClient.Spdy.connect(portForwardUrl());
        PortForwardClient.Connection c = pf.forward(8080);
        c.write("x\n");
        c.awaitData("x", T);
        aborts.add(pf::abort);
        WsClient ws = WsClient.connect(portForwardUrl(8080), "v4.channel.k8s.io");
        ws.channel(0).awaitBytes(2, T, "the websocket port-forward to start");
        aborts.add(ws::abort);
        assertTrue(ProcessHandle.of(pid).orElseThrow().descendants().count() > childrenBefore, "the execs run under the daemon");
        assertFalse(sessionThreads(pid).isEmpty(), "the exec I/O threads are visible by name");

        aborts.forEach(Runnable::run);

        Wait.until("every session to end", T, () -> activeSessions() == 0);
        Wait.until("the daemon's processes to go", T, () -> ProcessHandle.of(pid).orElseThrow().descendants().count() <= childrenBefore);
        try {
            Wait.until("the daemon's descriptors to be closed", T, () -> fds(pid).size() <= fdsBefore.size());
        } catch (AssertionError e) {
            Map<String, String> now = fds(pid);
            now.keySet().removeAll(fdsBefore.keySet());
            throw new AssertionError("descriptors left open: " + now + " (before: " + fdsBefore.size() + ")", e);
        }
        Wait.until("the sessions' threads to end", T, () -> sessionThreads(pid).isEmpty());
        String ps = pods.execOk(app, "ps", "-o", "args");
        assertFalse(ps.contains("sleep 4242") || ps.contains("sleep 4243"), "exec'd processes survived in the container: " + ps);
    }

    @Test
    void metricsCountSessions() throws Exception {
        try (RemoteCommand rc = RemoteCommand.open(Transport.WEBSOCKET, execUrl(app, false, false, "true"), false, true, true, false)) {
            rc.awaitStatus(T);
        }
        PrometheusText m = scrape();
        assertTrue(m.sumOrZero("pvecri_streaming_sessions_total", Map.of("kind", "exec")) >= 1, "sessions counter");
        assertTrue(m.find("pvecri_streaming_active", Map.of("kind", "attach")).size() == 1, "active gauge per kind");
    }

    @Test
    void execRoundTripLatency() throws Exception {
        int n = 100;
        long[] nanos = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            try (RemoteCommand rc = RemoteCommand.open(Transport.WEBSOCKET, execUrl(app, false, false, "echo", "hi"), false, true, true, false)) {
                assertEquals(SUCCESS, rc.awaitStatus(T));
                assertEquals("hi\n", rc.stdout.text());
            }
            nanos[i] = System.nanoTime() - t0;
        }
        Arrays.sort(nanos);
        long[] sync = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            assertEquals("hi\n", pods.execOk(app, "echo", "hi"));
            sync[i] = System.nanoTime() - t0;
        }
        Arrays.sort(sync);
        System.out.printf("[bench] streaming exec round trip (Exec RPC + WebSocket + lxc-attach echo), %d runs: median %.1f ms, p90 %.1f ms, min %.1f ms"
                        + "; ExecSync of the same: median %.1f ms%n",
                n, nanos[n / 2] / 1e6, nanos[n * 9 / 10] / 1e6, nanos[0] / 1e6, sync[n / 2] / 1e6);
    }

    // ---- kubectl (client-go's SPDY and WebSocket clients), when installed --------------------------

    @Test
    void kubectlExecAttachAndPortForward() throws Exception {
        Path kubectl = Stream.of("/usr/bin/kubectl", "/usr/local/bin/kubectl").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(kubectl != null, "kubectl is not installed");
        try (MiniKubelet k = new MiniKubelet(() -> pods.runtime(), Map.of("web", new MiniKubelet.Pod(pod.id(),
                Map.of("app", app, "ticker", ticker))))) {
            for (String websockets : List.of("true", "false")) {
                Map<String, String> env = Map.of("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets);
                Run r = kubectl(kubectl, k, env, null, "exec", "web", "-c", "app", "--", "sh", "-c", "echo hi; echo err >&2; exit 3");
                assertEquals(3, r.code(), r.toString());
                assertEquals("hi\n", r.out(), r.toString());
                assertTrue(r.err().contains("err\n") && r.err().contains("command terminated with exit code 3"), r.toString());

                r = kubectl(kubectl, k, env, "one\ntwo\n", "exec", "-i", "web", "-c", "app", "--", "cat");
                assertEquals(0, r.code(), r.toString());
                assertEquals("one\ntwo\n", r.out(), r.toString());

                // -t needs a terminal: run kubectl under script(1)
                r = run(List.of("script", "-qec", kubectl + " --server=" + k.url() + " exec -it web -c app -- sh -c 'tty; exit 4'", "/dev/null"),
                        Map.of("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets, "KUBECONFIG", "/dev/null"), null, Duration.ofSeconds(30));
                assertTrue(r.out().contains("/dev/pts/"), r.toString());
                assertEquals(4, r.code(), r.toString());

                r = kubectl(kubectl, k, env, null, "attach", "web", "-c", "ticker", "--pod-running-timeout=5s");
                assertTrue(r.out().contains("tick-"), r.toString()); // ended by the time limit below
            }
            assertTrue(k.relayed.containsAll(List.of("exec websocket", "exec spdy", "attach websocket", "attach spdy")), k.relayed.toString());

            for (String websockets : List.of("true", "false")) {
            ProcessBuilder pfb = new ProcessBuilder(kubectl.toString(), "--server=" + k.url(), "port-forward", "pod/web", ":8080")
                    .redirectErrorStream(true);
            pfb.environment().put("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets);
            pfb.environment().put("KUBECONFIG", "/dev/null");
            Process pf = pfb.start();
            pf.getOutputStream().close();
            try {
                var lines = new java.io.BufferedReader(new java.io.InputStreamReader(pf.getInputStream(), StandardCharsets.UTF_8));
                String line = lines.readLine(); // Forwarding from 127.0.0.1:NNNNN -> 8080
                assertTrue(line != null && line.startsWith("Forwarding from 127.0.0.1:"), String.valueOf(line));
                int local = Integer.parseInt(line.substring("Forwarding from 127.0.0.1:".length(), line.indexOf(" ->")));
                for (int i = 0; i < 2; i++) {
                    try (java.net.Socket s = new java.net.Socket("127.0.0.1", local)) {
                        s.setSoTimeout(10_000);
                        s.getOutputStream().write(("through kubectl " + i + "\n").getBytes(StandardCharsets.UTF_8));
                        s.shutdownOutput();
                        assertEquals("through kubectl " + i + "\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
            } finally {
                pf.destroy();
                pf.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
            }
            assertTrue(k.relayed.containsAll(List.of("portforward spdy", "portforward websocket")), k.relayed.toString());
        }
    }

    record Run(int code, String out, String err) {}

    static Run kubectl(Path kubectl, MiniKubelet k, Map<String, String> env, String stdin, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(kubectl.toString(), "--server=" + k.url(), "--request-timeout=20s"));
        argv.addAll(List.of(args));
        Map<String, String> e = new java.util.HashMap<>(env);
        e.put("KUBECONFIG", "/dev/null");
        return run(argv, e, stdin, args[0].equals("attach") ? Duration.ofSeconds(2) : Duration.ofSeconds(30));
    }

    /** Runs a command; one that outlives {@code limit} is stopped and reported with code -1. */
    static Run run(List<String> argv, Map<String, String> env, String stdin, Duration limit) throws Exception {
        Path out = Files.createTempFile("kubectl", ".out");
        Path err = Files.createTempFile("kubectl", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            int code = -1;
            if (p.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                code = p.exitValue();
            } else {
                p.destroy();
                p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
            return new Run(code, Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------

    static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    /** The daemon's threads that belong to streaming sessions (exec I/O threads, netns helpers). */
    static List<String> sessionThreads(long pid) {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : s.toList()) {
                try {
                    String comm = Files.readString(t.resolve("comm")).strip();
                    if (comm.matches("(exec|attach)-\\d+-(in|out)|pvecri-netns")) {
                        out.add(comm);
                    }
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** The daemon's open descriptors: number to what it points at. */
    static Map<String, String> fds(long pid) {
        Map<String, String> out = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : s.toList()) {
                try {
                    out.put(p.getFileName().toString(), Files.readSymbolicLink(p).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** One client for every scrape: its one kept-alive connection is part of the descriptor baseline. */
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static PrometheusText scrape() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://" + daemon.daemon().metricsAddress() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        return PrometheusText.parse(r.body());
    }

    static double activeSessions() {
        try {
            return scrape().sumOrZero("pvecri_streaming_active", Map.of());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
